"""Image-score-pair prompts (ISPP, paper 004 Sec. 3.2 A): validation, normalisation, sampling, hashing.

A prompt is n >= 2 pairs (image, score) in any numeric range and direction (MOS-like or DMOS-like).

Normalisation (documented contract): the network reads and writes scores in [0, 1] (public code: labels
normalised to [0, 1], sigmoid output). A prompt's scores are mapped affinely onto [0, 1] by its own
minimum and maximum, ``s' = (s - min) / (max - min)``, and a predicted ``y`` in [0, 1] is mapped back,
``score = min + y (max - min)``. So predictions are in the prompt's own scale and direction -- a prompt in
which higher means worse gives scores in which higher means worse -- and lie within the prompt's range.

Sampling n ISPs from a scored collection (Table 4): ``interval`` sorts by score and takes n items at
evenly spaced ranks (lowest and highest included); ``random`` takes n items uniformly without
replacement. The prompt cache key is the SHA-256 of the images' content hashes and the scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.errors import InputError

SAMPLING = ("interval", "random")
MIN_PAIRS = 2


@dataclass(frozen=True)
class Prompt:
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
        """The same images with the scale reversed (paper Table 5: x' = 1 - x in the normalised scale)."""
        return Prompt(self.images, self.high + self.low - self.scores, self.names)

    @property
    def key(self) -> str:
        from backend.images import content_hash

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
    if len(values) < MIN_PAIRS:
        raise InputError(f"A prompt needs at least {MIN_PAIRS} image-score pairs, got {len(values)}; add more pairs.")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(f"Prompt score {bad[0] + 1} is {values[bad[0]]}; every score must be a finite number.")
    if np.ptp(values) == 0:
        raise InputError(f"All prompt scores are equal ({values[0]:g}); a prompt needs different scores "
                         "to show what is better and what is worse.")
    return values


def make_prompt(images: Sequence, scores: Sequence, names: Sequence[str] | None = None) -> Prompt:
    """A validated prompt from image sources (anything ``load_image`` accepts) and their scores."""
    from backend.images import load_image

    images = list(images)
    values = check_scores(scores, len(images))
    names = list(names) if names is not None else [f"pair {k + 1}" for k in range(len(images))]
    arrays = tuple(load_image(image, name=f"prompt image '{name}'") for image, name in zip(images, names, strict=False))
    return Prompt(arrays, values, tuple(names))


def sample_indices(scores: Sequence[float], n: int, strategy: str = "interval",
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of n ISPs chosen from scored items by ``interval`` or ``random`` sampling (Table 4)."""
    values = np.asarray(scores, dtype=np.float64)
    if strategy not in SAMPLING:
        raise InputError(f"Unknown ISP sampling '{strategy}'; use one of {', '.join(SAMPLING)}.")
    if n < MIN_PAIRS:
        raise InputError(f"A prompt needs at least {MIN_PAIRS} pairs; ask for n >= {MIN_PAIRS}.")
    if len(values) < n:
        raise InputError(f"Cannot sample {n} ISPs from {len(values)} scored images; ask for at most {len(values)}.")
    if strategy == "random":
        rng = rng or np.random.default_rng(0)
        return np.sort(rng.choice(len(values), size=n, replace=False))
    order = np.argsort(values, kind="stable")
    return order[np.round(np.linspace(0, len(values) - 1, n)).astype(int)]
