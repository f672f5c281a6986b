"""Types shared across packages: what IQA models take and give (DESIGN.md, "The registry contract").

A neutral module: it imports nothing of HarmonyLab but the errors, the registry card and the image
decoder, so that models (``backend.iqa``, ``backend.harmonization``), the store and the services can all
use these types without importing each other.

* :class:`ScoreResult`, :class:`IQAModel`, :func:`check_inputs`: a model scores one image (``iqa-nr``) or
  an image against its reference (``iqa-fr``); mask-aware metrics also take the foreground mask. Results
  are plain data: a float score plus an optional ``details`` dict that inspector views render.
* :class:`Prompt`, :func:`check_scores`: an image-score-pair prompt (PromptIQA, paper 004 Sec. 3.2 A),
  what the prompt models score under and what the store saves. Its normalisation contract: the network
  reads and writes scores in [0, 1]; a prompt's scores are mapped affinely onto [0, 1] by its own minimum
  and maximum, and predictions are mapped back, so they are in the prompt's own scale and direction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from backend.errors import InputError
from backend.images import content_hash
from backend.registry import ModelCard

MIN_PROMPT_PAIRS = 2


@dataclass
class ScoreResult:
    score: float
    details: dict[str, Any] = field(default_factory=dict)


class IQAModel(Protocol):
    card: ModelCard

    def score(
        self, image: np.ndarray, reference: np.ndarray | None = None, mask: np.ndarray | None = None
    ) -> ScoreResult: ...


def check_inputs(
    card: ModelCard, image: np.ndarray, reference: np.ndarray | None, mask: np.ndarray | None
) -> None:
    """Raise InputError when the inputs do not fit the model's card (reference, mask, sizes)."""
    height, width = image.shape[:2]
    if card.full_reference:
        if reference is None:
            raise InputError(f"'{card.name}' is a full-reference metric: give a reference image for every image.")
        if reference.shape[:2] != image.shape[:2]:
            rh, rw = reference.shape[:2]
            raise InputError(
                f"'{card.name}' compares pixels, but the image is {width}x{height} and its reference is "
                f"{rw}x{rh}; give a reference of the same size."
            )
    if card.needs_mask:
        if mask is None:
            raise InputError(f"'{card.name}' measures the foreground: give the foreground mask.")
        if mask.shape[:2] != image.shape[:2]:
            mh, mw = mask.shape[:2]
            raise InputError(
                f"The mask is {mw}x{mh} but the image is {width}x{height}; give a mask of the same size."
            )


@dataclass(frozen=True)
class Prompt:
    """An image-score-pair prompt: RGB uint8 images, one score each in the user's own scale, display names."""

    images: tuple[np.ndarray, ...]  # RGB uint8 HxWx3
    scores: np.ndarray  # float64, the user's scale
    names: tuple[str, ...] = ()

    @property
    def low(self) -> float:
        return float(self.scores.min())

    @property
    def high(self) -> float:
        return float(self.scores.max())

    def normalised(self) -> np.ndarray:
        """Scores mapped onto [0, 1] by the prompt's own range (module docstring)."""
        return (self.scores - self.low) / (self.high - self.low)

    def to_scale(self, values: np.ndarray) -> np.ndarray:
        """Network outputs in [0, 1] back in the prompt's scale."""
        return self.low + np.asarray(values, dtype=np.float64) * (self.high - self.low)

    def inverted(self) -> Prompt:
        """The same images with the scale reversed (paper 004 Table 5: x' = 1 - x in the normalised scale)."""
        return Prompt(self.images, self.high + self.low - self.scores, self.names)

    @property
    def key(self) -> str:
        """SHA-256 of the images' content hashes and the scores (the prompt cache key)."""
        digest = hashlib.sha256()
        for image in self.images:
            digest.update(content_hash(image).encode())
        digest.update(np.ascontiguousarray(self.scores, dtype=np.float64).tobytes())
        return digest.hexdigest()


def check_scores(scores: Sequence, count: int | None = None) -> np.ndarray:
    """Validate prompt scores: numeric, finite, at least two, not all equal, ``count`` of them."""
    try:
        values = np.asarray([float(s) for s in scores], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"Every prompt score must be a number ({error}); fix the score column.") from error
    if count is not None and len(values) != count:
        raise InputError(f"The prompt has {count} images but {len(values)} scores; give exactly one score per image.")
    if len(values) < MIN_PROMPT_PAIRS:
        raise InputError(f"A prompt needs at least {MIN_PROMPT_PAIRS} image-score pairs, got {len(values)}; add more pairs.")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(f"Prompt score {bad[0] + 1} is {values[bad[0]]}; every score must be a finite number.")
    if np.ptp(values) == 0:
        raise InputError(f"All prompt scores are equal ({values[0]:g}); a prompt needs different scores "
                         "to show what is better and what is worse.")
    if not np.isfinite(values.max() - values.min()):  # e.g. 1e308 and -1e308: the range overflows to inf
        raise InputError(f"The prompt scores span {values.min():g} to {values.max():g}, too wide a range to "
                         "compute with; give scores on an ordinary scale (e.g. 1-5 or 0-100).")
    return values
