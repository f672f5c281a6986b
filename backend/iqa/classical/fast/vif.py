"""VIF: visual information fidelity in the wavelet domain (the vector GSM model, "vifvec").

Sheikh & Bovik, "Image information and visual quality", IEEE TIP 2006, Eqs. 11-15: reference coefficients
C = s U in 3x3 blocks (U ~ N(0, C_U)), distortion channel D = g C + V estimated per block from 3x3-spaced
local windows, HVS noise sigma_n^2 = 0.4; VIF = sum_subbands sum_blocks sum_k log2(1 + g^2 s^2 l_k /
(sigma_v^2 + sigma_n^2)) / sum_subbands sum_blocks sum_k log2(1 + s^2 l_k / sigma_n^2), with l_k the
eigenvalues of C_U and s^2 = c^T C_U^+ c / 9. Subbands: two orientations (0 and 3 of 6) at each of the 4
levels of a steerable pyramid with matlabPyrTools' ``sp5Filters`` (Simoncelli & Freeman 1995).

Equal to pyiqa 0.1.16's ``VIF`` arch with default options (``vif``): rounded Y of YIQ in float32, pyramid
filters as float32 with reflect (mirror without repeating the edge) padding, subbands cropped to multiples
of 3, window sizes 3, 5, 9, 17 from the coarsest level to the finest, the same guards (tol = 1e-12: g = 0 and
sigma_v^2 = sigma_d^2 where the reference is flat, g = sigma_v^2 = 0 where the distorted image is flat,
sigma_v^2 = sigma_d^2 and g = 0 where g < 0, sigma_v^2 >= tol), border crops of ceil(((w - 1) / 2) / 3)
blocks, and 1e-12 added to the denominator.

What we do differently for speed: pyiqa builds all 26 pyramid bands but uses 8; we filter only those 8 and
the low-pass chain (OpenCV, float32 like pyiqa), sample the window sums only at the block centres pyiqa keeps,
and add the 9 logarithms per block as the logarithm of a product (per-term sums where a product would
overflow).

Deliberate difference: the statistics, the pseudo-inverse and the eigenvalues are float64. pyiqa computes the
covariance C_U of hundreds of thousands of neighbourhoods, its pseudo-inverse and eigenvalues in float32;
C_U is ill-conditioned (neighbouring coefficients are strongly correlated), so pyiqa's value drifts from its
own formula evaluated in float64 by up to 2e-4 at 383x511 and 1e-2 at 1024x768, growing with image size,
depends on how images are batched, and is NaN for some images against themselves (negative float32
eigenvalues; ours gives 1). With only that step of pyiqa in float64, the two agree within about 1e-6 (see
``tests/iqa/test_fast_metrics.py``).

Images must be at least 33 px on the shorter side here (pyiqa's reflect padding of the coarsest level
needs 5 rows); see ``MIN_SIDE``. If either image has constant luma, VIF is 0 (every gain g is 0), as in exact
arithmetic and in pyiqa; we return it directly, because our float32 pyramid of a flat image is not exactly
flat and the pseudo-inverse would amplify its rounding residues.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from backend.iqa.classical.fast import check_min_side
from backend.iqa.classical.fast.colour import luma_255

BLOCK = 3  # M: the 3x3 neighbourhood of the vector GSM
SIGMA_N_SQ = 0.4
TOL = 1e-12
LEVELS = 4
MIN_SIDE = 33


def _mirror(quadrant: list[list[float]], odd_columns: bool = False) -> np.ndarray:
    """A (2q-1)x(2q-1) filter from its top-left q x q quadrant: rows mirrored about the last one, columns
    mirrored about the last one (negated with ``odd_columns``, whose centre column is zero)."""
    top = np.asarray(quadrant, dtype=np.float64)
    rows = np.vstack([top, top[-2::-1]])
    right = rows[:, -2::-1]
    return np.hstack([rows, -right if odd_columns else right])


def _filters() -> dict[str, np.ndarray]:
    """sp5Filters (matlabPyrTools) taps used here, rounded to float32 as pyiqa holds them."""
    low0 = _mirror([[0.00341614, -0.01551246, -0.03848215],
                    [-0.01551246, 0.05586982, 0.15925570],
                    [-0.03848215, 0.15925570, 0.40304148]])
    low = 2 * _mirror([[0.00085404, -0.00244917, -0.00387812, -0.00944432, -0.00962054],
                       [-0.00244917, -0.00523281, -0.00661117, 0.00410600, 0.01002988],
                       [-0.00387812, -0.00661117, 0.01396746, 0.03277038, 0.03981393],
                       [-0.00944432, 0.00410600, 0.03277038, 0.06426333, 0.08169618],
                       [-0.00962054, 0.01002988, 0.03981393, 0.08169618, 0.10096540]])
    # Orientation 0 of 6 (a vertical-edge detector, odd in x); orientation 3 is minus its transpose.
    band0 = _mirror([[0.00277643, -0.00986904, -0.01021852, 0.0],
                     [0.00496194, -0.00893064, -0.03075356, 0.0],
                     [0.01026699, 0.01189859, -0.08226445, 0.0],
                     [0.01455399, 0.02755155, -0.11732297, 0.0]], odd_columns=True)
    taps = {"low0": low0, "low": low, "band0": band0, "band3": -band0.T}
    return {name: values.astype(np.float32) for name, values in taps.items()}


FILTERS = _filters()
# The 8 subbands pyiqa uses, in its order: (level, orientation) from the coarsest level to the finest, and
# the side of the window over which each subband's distortion channel is estimated.
SUBBANDS = ((3, 3), (3, 0), (2, 3), (2, 0), (1, 3), (1, 0), (0, 3), (0, 0))
WINDOWS = (3, 3, 5, 5, 9, 9, 17, 17)


def _correlate(plane: np.ndarray, taps: np.ndarray) -> np.ndarray:
    return cv2.filter2D(plane, cv2.CV_32F, taps, borderType=cv2.BORDER_REFLECT_101)


def _pyramid_subbands(luma: np.ndarray) -> list[np.ndarray]:
    """The 8 subbands (float64, cropped to multiples of 3) of one float32 plane, in SUBBANDS order."""
    low = _correlate(luma, FILTERS["low0"])
    by_level = {}
    for level in range(LEVELS):
        by_level[level, 0] = _correlate(low, FILTERS["band0"])
        by_level[level, 3] = _correlate(low, FILTERS["band3"])
        if level < LEVELS - 1:
            low = np.ascontiguousarray(_correlate(low, FILTERS["low"])[::2, ::2])
    subbands = []
    for key in SUBBANDS:
        band = by_level[key]
        rows, cols = band.shape[0] // BLOCK * BLOCK, band.shape[1] // BLOCK * BLOCK
        subbands.append(band[:rows, :cols].astype(np.float64))
    return subbands


def _block_centre_sums(plane: np.ndarray, window: int) -> np.ndarray:
    """Sums over window x window neighbourhoods (mirror padding) at the centres of the 3x3 blocks."""
    sums = cv2.boxFilter(plane, cv2.CV_64F, (window, window), normalize=False, borderType=cv2.BORDER_REFLECT_101)
    return sums[BLOCK // 2 :: BLOCK, BLOCK // 2 :: BLOCK]


def _distortion_channel(reference: np.ndarray, distorted: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per block: the gain g and the additive noise variance sigma_v^2 of D = g C + V (Eq. 13's estimates)."""
    area = window * window
    mean_r = _block_centre_sums(reference, window) / area
    mean_d = _block_centre_sums(distorted, window) / area
    cov = _block_centre_sums(reference * distorted, window) - area * mean_r * mean_d
    var_r = np.maximum(_block_centre_sums(reference * reference, window) - area * mean_r**2, 0.0)
    var_d = np.maximum(_block_centre_sums(distorted * distorted, window) - area * mean_d**2, 0.0)
    gain = cov / (var_r + TOL)
    noise = (var_d - gain * cov) / area
    flat_reference = var_r < TOL
    gain[flat_reference] = 0.0
    noise[flat_reference] = var_d[flat_reference]
    flat_distorted = var_d < TOL
    gain[flat_distorted] = 0.0
    noise[flat_distorted] = 0.0
    negative = gain < 0
    noise[negative] = var_d[negative]
    gain = np.maximum(gain, 0.0)
    return gain, np.maximum(noise, TOL)


def _gsm_reference(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s^2 per 3x3 block and the eigenvalues of C_U, the covariance of all 3x3 neighbourhoods (1/n)."""
    rows, cols = reference.shape
    offsets = [(dy, dx) for dx in range(BLOCK) for dy in range(BLOCK)]
    neighbourhoods = np.empty((len(offsets), rows - BLOCK + 1, cols - BLOCK + 1))
    blocks = np.empty((len(offsets), rows // BLOCK, cols // BLOCK))
    for index, (dy, dx) in enumerate(offsets):
        neighbourhoods[index] = reference[dy : rows - BLOCK + 1 + dy, dx : cols - BLOCK + 1 + dx]
        blocks[index] = reference[dy::BLOCK, dx::BLOCK]
    neighbourhoods = neighbourhoods.reshape(len(offsets), -1)
    means = neighbourhoods.mean(axis=1)
    # E[x x^T] - E[x] E[x]^T: band coefficients have means near zero, so nothing cancels.
    covariance = neighbourhoods @ neighbourhoods.T / neighbourhoods.shape[1] - np.outer(means, means)
    blocks = blocks.reshape(len(offsets), -1)
    multiplier = np.sum((np.linalg.pinv(covariance) @ blocks) * blocks, axis=0) / (BLOCK * BLOCK)
    return multiplier.reshape(rows // BLOCK, cols // BLOCK), np.linalg.eigvalsh(covariance)


def _sum_log2_one_plus(scale: np.ndarray, eigenvalues: np.ndarray) -> float:
    """sum over pixels and k of log2(1 + scale * l_k), as log2 of the product over k where it is finite."""
    product = np.ones_like(scale)
    with np.errstate(over="ignore", invalid="ignore"):
        for eigenvalue in eigenvalues:
            product *= 1 + scale * eigenvalue
    finite = np.isfinite(product) & (product > 0)
    total = float(np.sum(np.log2(product[finite])))
    if not finite.all():
        rest = scale[~finite]
        total += float(sum(np.sum(np.log2(1 + rest * eigenvalue)) for eigenvalue in eigenvalues))
    return total


def vif_pair(distorted_luma: np.ndarray, reference_luma: np.ndarray) -> float:
    if np.ptp(reference_luma) == 0 or np.ptp(distorted_luma) == 0:
        # A flat image has flat subbands: g = 0 everywhere (Eq. 13's guards), so the numerator is 0.
        return 0.0
    reference_bands = _pyramid_subbands(reference_luma)
    distorted_bands = _pyramid_subbands(distorted_luma)
    numerator = denominator = 0.0
    for reference, distorted, window in zip(reference_bands, distorted_bands, WINDOWS, strict=True):
        gain, noise = _distortion_channel(reference, distorted, window)
        multiplier, eigenvalues = _gsm_reference(reference)
        crop = math.ceil(((window - 1) / 2) / BLOCK)
        inner = (slice(crop, gain.shape[0] - crop), slice(crop, gain.shape[1] - crop))
        gain, noise, multiplier = gain[inner], noise[inner], multiplier[inner]
        numerator += _sum_log2_one_plus(gain * gain * multiplier / (noise + SIGMA_N_SQ), eigenvalues)
        denominator += _sum_log2_one_plus(multiplier / SIGMA_N_SQ, eigenvalues)
    return numerator / (denominator + 1e-12)


def vif(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """VIF of each image (N x H x W x 3 uint8) against its reference."""
    check_min_side("vif", images, MIN_SIDE, "for its 4 pyramid levels")
    distorted = luma_255(images).astype(np.float32)
    reference = luma_255(references).astype(np.float32)
    return np.array([vif_pair(x, y) for x, y in zip(distorted, reference, strict=True)])
