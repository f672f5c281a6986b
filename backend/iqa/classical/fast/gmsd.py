"""GMSD: gradient magnitude similarity deviation on the luma channel.

Xue, Zhang, Mou & Bovik, "Gradient magnitude similarity deviation: a highly efficient perceptual image
quality index", IEEE TIP 2014, Eqs. 4 and 8: the standard deviation of
GMS = (2 m_r m_d + c) / (m_r^2 + m_d^2 + c), c = 170, where m is the Prewitt gradient magnitude (3x3
kernels divided by 3, zero padding) of the image averaged over 2x2 blocks and sampled every 2 pixels.

Equal to pyiqa 0.1.16's ``GMSD`` arch with default options (``gmsd``: rounded Y of YIQ at the 0..255
scale, odd last row/column dropped by the 2x2 stride-2 average, unbiased standard deviation, 1e-12 under
the square root of the magnitude). Images with a side below 2 px make pyiqa raise, and images with a single
2x2 block (2 or 3 px on both sides) make it return NaN (the deviation of one value); we raise InputError for
both. Like pyiqa we work in float32 (OpenCV filters), so scores differ by the order of float32 operations
(about 1e-8).
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.errors import InputError
from backend.iqa.classical.fast.colour import luma_255

T = 170.0
PREWITT_X = (np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64) / 3.0).astype(np.float32)


def _gradient_magnitude(luma: np.ndarray) -> np.ndarray:
    """float32, as pyiqa: 2x2 block means (exact: sums of whole numbers times 0.25), Prewitt magnitude."""
    rows, cols = luma.shape[0] // 2, luma.shape[1] // 2
    even, odd = luma[0 : 2 * rows : 2, : 2 * cols], luma[1 : 2 * rows : 2, : 2 * cols]
    pairs = even + odd
    blocks = (pairs[:, 0::2] + pairs[:, 1::2]) * np.float32(0.25)
    grad_x = cv2.filter2D(blocks, cv2.CV_32F, PREWITT_X, borderType=cv2.BORDER_CONSTANT)
    grad_y = cv2.filter2D(blocks, cv2.CV_32F, PREWITT_X.T, borderType=cv2.BORDER_CONSTANT)
    return np.sqrt(grad_x * grad_x + grad_y * grad_y + np.float32(1e-12))


def gmsd(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """GMSD of each image (N x H x W x 3 uint8) against its reference (lower is better)."""
    height, width = images.shape[1:3]
    if (height // 2) * (width // 2) < 2:
        raise InputError(
            f"'gmsd' needs at least two 2x2 blocks (e.g. 2x4 pixels), but this image is {width}x{height}; "
            "use a larger image or another metric."
        )
    distorted, reference = luma_255(images, out=np.float32), luma_255(references, out=np.float32)
    scores = np.empty(len(images))
    for index, (x, y) in enumerate(zip(distorted, reference, strict=True)):
        magnitude_x, magnitude_y = _gradient_magnitude(x), _gradient_magnitude(y)
        product = magnitude_x * magnitude_y
        similarity = (2 * product + np.float32(T)) / (magnitude_x * magnitude_x + magnitude_y * magnitude_y + np.float32(T))
        scores[index] = np.std(similarity, ddof=1, dtype=np.float64)
    return scores
