"""SSIM and MS-SSIM on the luma channel with separable Gaussian filtering (OpenCV, float64).

SSIM: Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility to structural
similarity", IEEE TIP 2004, Eq. 13 with the 11x11 Gaussian window of sigma 1.5 (Sec. III-B), C1 = (0.01 L)^2,
C2 = (0.03 L)^2, L = 255, local statistics with population (1/N) weights, mean over the "valid" region.
MS-SSIM: Wang, Simoncelli & Bovik, "Multi-scale structural similarity for image quality assessment",
Asilomar 2003, Eq. 7 with the exponents 0.0448, 0.2856, 0.3001, 0.2363, 0.1333 over 5 scales.

Equal to pyiqa 0.1.16's ``SSIM`` and ``MS_SSIM`` archs with default options (``ssim`` and ``ms_ssim``):
the rounded Y of YIQ in float32 (``colour.luma_255``), float64 statistics, no 256-px average-pool
(``downsample=False``), the contrast-structure map clipped at zero (pyiqa's ReLU, which the papers do not
have and scikit-image does not do), and MS-SSIM's 2x2 average pool that pads odd sides with one zero row or
column at the top/left and counts it in the mean. pyiqa builds its window as a float32 2-D array, we filter
with the float64 1-D factor; the window's float32 rounding moves pyiqa's local variances (E[x^2] - mu^2 at
the 0..255 scale) slightly, so scores differ by up to about 5e-7.

Every scale must be at least 11 px on its shorter side (the window): SSIM needs 11x11 images, MS-SSIM
161 px (161 -> 81 -> 41 -> 21 -> 11); pyiqa raises a convolution error below that, we raise InputError.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from backend.iqa.classical.fast import check_min_side
from backend.iqa.classical.fast.colour import luma_255

WINDOW = 11
SIGMA = 1.5
DATA_RANGE = 255.0
C1 = (0.01 * DATA_RANGE) ** 2
C2 = (0.03 * DATA_RANGE) ** 2
# pyiqa keeps the exponents as float32.
MS_SSIM_EXPONENTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333], dtype=np.float32).astype(np.float64)
MS_SSIM_MIN_SIDE = 161


@cache
def gaussian_taps(size: int = WINDOW, sigma: float = SIGMA) -> np.ndarray:
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    taps = np.exp(-(offsets**2) / (2 * sigma**2))
    return taps / taps.sum()


def _valid_gaussian_mean(plane: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local means over the positions where the whole window fits ("valid")."""
    taps = gaussian_taps()
    filtered = cv2.sepFilter2D(plane, cv2.CV_64F, taps, taps, borderType=cv2.BORDER_REFLECT_101)
    margin = WINDOW // 2
    return filtered[margin:-margin, margin:-margin]


def ssim_and_contrast_structure(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and mean clipped contrast-structure term of two float64 planes (same shape, >= 11x11)."""
    mu_x = _valid_gaussian_mean(x)
    mu_y = _valid_gaussian_mean(y)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = _valid_gaussian_mean(x * x) - mu_xx
    var_y = _valid_gaussian_mean(y * y) - mu_yy
    cov_xy = _valid_gaussian_mean(x * y) - mu_xy
    contrast_structure = np.maximum((2 * cov_xy + C2) / (var_x + var_y + C2), 0.0)
    luminance = (2 * mu_xy + C1) / (mu_xx + mu_yy + C1)
    return float(np.mean(luminance * contrast_structure)), float(np.mean(contrast_structure))



def halve(plane: np.ndarray) -> np.ndarray:
    """2x2 average pool; an odd side gets one zero row/column in front, counted in the mean (torch's
    ``avg_pool2d(kernel_size=2, padding=side % 2)``)."""
    height, width = plane.shape
    padded = np.pad(plane, ((height % 2, 0), (width % 2, 0)))
    rows, cols = padded.shape[0] // 2, padded.shape[1] // 2
    return padded[: 2 * rows, : 2 * cols].reshape(rows, 2, cols, 2).sum(axis=(1, 3)) / 4


def ssim(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """SSIM of each image (N x H x W x 3 uint8) against its reference."""
    check_min_side("ssim", images, WINDOW)
    distorted, reference = luma_255(images), luma_255(references)
    return np.array([ssim_and_contrast_structure(x, y)[0] for x, y in zip(distorted, reference, strict=True)])


def ms_ssim_pair(x: np.ndarray, y: np.ndarray) -> float:
    contrast_structure = []
    for _ in MS_SSIM_EXPONENTS:
        similarity, cs = ssim_and_contrast_structure(x, y)
        contrast_structure.append(cs)
        x, y = halve(x), halve(y)
    # The coarsest scale contributes its full SSIM, the others their contrast-structure term.
    factors = np.array(contrast_structure[:-1] + [similarity]) ** MS_SSIM_EXPONENTS
    return float(np.prod(factors))


def ms_ssim(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """MS-SSIM of each image (N x H x W x 3 uint8) against its reference."""
    check_min_side("ms_ssim", images, MS_SSIM_MIN_SIDE)
    distorted, reference = luma_255(images), luma_255(references)
    return np.array([ms_ssim_pair(x, y) for x, y in zip(distorted, reference, strict=True)])
