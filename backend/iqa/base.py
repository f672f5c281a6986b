"""The scoring protocol shared by every IQA model in the registry (DESIGN.md, "The registry contract").

A model scores one image (``iqa-nr``) or an image against its reference (``iqa-fr``); mask-aware metrics
also take the foreground mask. Results are plain data: a float score plus an optional ``details`` dict that
inspector views render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from backend.errors import InputError
from backend.registry import ModelCard


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
