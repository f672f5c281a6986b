"""Entropy: Shannon entropy (bits) of the 256-bin histogram of the 8-bit luma (MATLAB's ``entropy``).

-sum p_k log2(p_k + 1e-8) over the grey levels k = 0..255 of the rounded Y of YIQ (``colour.luma_255``).
Equal to pyiqa 0.1.16's ``Entropy`` arch with default options (``entropy``). pyiqa counts the levels with a
one-hot tensor of N x H x W x 256 int64 values (400 MB for one 512x384 image) and sums in float32; we count
with ``np.bincount`` and sum in float64, so scores differ by pyiqa's float32 rounding (below 1e-5 bits).
"""

from __future__ import annotations

import numpy as np

from backend.iqa.classical.fast.colour import luma_255

LEVELS = 256
EPS = 1e-8


def entropy(images: np.ndarray) -> np.ndarray:
    """Entropy of each image (N x H x W x 3 uint8)."""
    levels = luma_255(images, out=np.intp)
    scores = np.empty(len(images))
    for index, image_levels in enumerate(levels):
        counts = np.bincount(image_levels.ravel(), minlength=LEVELS)
        share = counts / counts.sum()
        scores[index] = -np.sum(share * np.log2(share + EPS))
    return scores
