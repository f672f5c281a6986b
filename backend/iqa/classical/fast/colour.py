"""Luma of uint8 RGB images, bit for bit as pyiqa 0.1.16 computes it from ``uint8 / 255`` float32 tensors.

pyiqa turns RGB into the Y of YIQ (NTSC weights 0.299, 0.587, 0.114, held as float32) before most metrics.
Its input is ``float32(u / 255)``; the three products are added left to right in the metric's working
precision (float32, or float64 where the metric casts first, e.g. CW-SSIM), and metrics that work at the
8-bit scale multiply by 255 and round half to even. Because about 1 pixel in 1000 has a weighted sum that
is exactly a half in decimal arithmetic, the rounded Y depends on these float32 details; reproducing the
order of operations makes our Y identical to pyiqa's for all 2^24 RGB triples (checked by
``tests/iqa/test_fast_metrics.py``) where torch rounds each step of the matrix product. Where torch fuses the
multiply-adds (AVX-512 machines), the ties come out one level apart, so there the metrics differ from plain
pyiqa by that much (README; the test file emulates the fused order to pin it). Products come
from 256-entry tables, so a pixel costs three look-ups and two additions.
"""

from __future__ import annotations

from functools import cache

import numpy as np

YIQ_FROM_RGB = np.array(
    [[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]], dtype=np.float32
)


@cache
def _product_tables(row: int, dtype: type, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each channel, the 256 products ``dtype(float32(u / 255) * scale) * dtype(weight)``."""
    unit = (np.arange(256, dtype=np.float32) / np.float32(255)) * np.float32(scale)
    weights = YIQ_FROM_RGB[row].astype(dtype)
    return tuple(unit.astype(dtype) * weights[channel] for channel in range(3))


def yiq_channel(images: np.ndarray, row: int = 0, dtype: type = np.float32, scale: float = 1.0) -> np.ndarray:
    """Channel ``row`` (0 = Y, 1 = I, 2 = Q) of YIQ for a batch N x H x W x 3 uint8, as N x H x W ``dtype``.

    ``scale`` multiplies ``float32(u / 255)`` in float32 before the colour matrix (FSIM works on that
    0..255 scale); the products are summed red + green, then + blue, as pyiqa's matrix product does on CPUs
    where torch rounds every step (module docstring).
    """
    red, green, blue = _product_tables(row, dtype, scale)
    return (red.take(images[..., 0]) + green.take(images[..., 1])) + blue.take(images[..., 2])


def luma_255(images: np.ndarray, dtype: type = np.float32, out: type = np.float64) -> np.ndarray:
    """pyiqa's ``to_y_channel(x, 255)``: Y in ``dtype``, times 255, rounded half to even, as ``out``.

    The values are whole numbers 0..255, exact in any output type.
    """
    luma = yiq_channel(images, 0, dtype)
    luma *= dtype(255)
    return np.rint(luma, out=luma).astype(out, copy=False)
