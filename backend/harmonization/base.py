"""The harmonizer interface (paper 002 Sec. 3.1: composite + foreground mask -> harmonized image).

Every harmonizer implements ``harmonize(composite, mask) -> HarmonizationResult``: ``composite`` is an RGB
``uint8`` HxWx3 array, ``mask`` a ``bool`` HxW foreground mask of the same size (both from
``backend.images``). Pixels outside the mask are returned unchanged. ``details`` may hold:

- ``similarity_map``: float32 HxW in [0, 1], each background instance's similarity to the foreground
  written into its pixels (paper 002 Eq. 12), 1 on the foreground, 0 where no instance was found;
- ``instances``: the background instance masks and ``instance_similarity`` their similarity values;
- ``target_stats``: what the foreground was moved toward, for statistic-based methods.

:func:`check_pair` is the single validation of a (composite, mask) pair for every harmonizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from backend.errors import InputError
from backend.images import check_mask
from backend.registry import ModelCard

MAX_SIDE = 4096
MIN_SIDE = 16


@dataclass
class HarmonizationResult:
    image: np.ndarray
    details: dict[str, Any] = field(default_factory=dict)


class Harmonizer(Protocol):
    card: ModelCard

    def harmonize(self, composite: np.ndarray, mask: np.ndarray) -> HarmonizationResult: ...


def check_pair(composite: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a composite and its foreground mask; return them as (uint8 HxWx3, bool HxW)."""
    if not isinstance(composite, np.ndarray) or composite.ndim != 3 or composite.shape[2] != 3:
        raise InputError("The composite must be an RGB image; decode it with backend.images.load_image.")
    height, width = composite.shape[:2]
    if max(height, width) > MAX_SIDE:
        raise InputError(
            f"The composite is {width}x{height} pixels; harmonize images of at most {MAX_SIDE} pixels per side "
            "(downscale it first)."
        )
    if min(height, width) < MIN_SIDE:
        raise InputError(f"The composite is {width}x{height} pixels; give an image at least {MIN_SIDE}x{MIN_SIDE}.")
    if composite.dtype != np.uint8:
        raise InputError("The composite must be 8-bit RGB; decode it with backend.images.load_image.")
    mask = check_mask(mask, shape=(height, width), name="foreground mask")
    return composite, mask
