"""CW-SSIM: complex wavelet structural similarity on the luma channel, from the coarsest pyramid level only.

Sampat, Wang, Gupta, Bovik & Markey, "Complex wavelet structural similarity: a new image similarity index",
IEEE TIP 2009, Eq. 6 with K = 0: for each of 8 orientations of a 4-level complex steerable pyramid
(Portilla & Simoncelli 2000; matlabPyrTools ``buildSCFpyr``), the index
2 |sum c_x c_y*| / sum (|c_x|^2 + |c_y|^2) over 7x7 windows of the coefficients of the 4th (coarsest band)
level, pooled with a Gaussian weight of sigma = rows / 4 and averaged over the orientations.

Equal to pyiqa 0.1.16's ``CW_SSIM`` arch with default options (``cw_ssim``: level 4, 8 orientations, no
guard band, K = 0, rounded Y of YIQ computed in float64). pyiqa builds the whole pyramid (the high-pass
residual and all 4 x 8 bands) and then reads only level 4; we compute only what level 4 needs: one FFT per
image, the low-pass masks of levels 1-3 applied while cropping the centred spectrum, then 8 small inverse
FFTs. Masks are rounded to float32 as pyiqa's are, the rest is float64; the frequency masks and the
pooling weight are cached per image size. |c| includes pyiqa's 1e-12 under the square root.

Two images with flat luma (any constants) make every coefficient zero up to FFT rounding, and the index
becomes 2 sqrt(1e-12) / 2e-12 = about 1e6 in pyiqa and here; those two values agree to 1e-7 relative
(2e-2 absolute), not 1e-4 absolute, because the rounding residues differ.

pyiqa refuses images whose shorter side is below 64 px (it needs floor(log2(side)) - 2 >= 4 levels); we
raise InputError there.
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import cv2
import numpy as np
import scipy.fft

from backend.iqa.classical.fast import check_min_side
from backend.iqa.classical.fast.colour import luma_255

LEVELS = 4
ORIENTATIONS = 8
WINDOW = 7
MIN_SIDE = 64
MAGNITUDE_EPS = 1e-12
ANGLE_TABLE_SIZE = 1024


def _frequency_axis(length: int) -> np.ndarray:
    """Centred frequency coordinates of one axis, in units of the Nyquist frequency."""
    half = length // 2
    return np.linspace(-half / (length / 2), half / (length / 2) - (1 - length % 2) * 2 / length, num=length)


def _polar_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """log2 radius and angle of the centred spectrum; the DC radius takes its left neighbour's value."""
    cols, rows = np.meshgrid(_frequency_axis(width), _frequency_axis(height))
    angle = np.arctan2(rows, cols)
    radius = np.sqrt(cols**2 + rows**2)
    radius[height // 2, width // 2] = radius[height // 2, width // 2 - 1]
    return np.log2(radius), angle


def _raised_cosine_table(width: float = 1.0, position: float = -0.5) -> tuple[np.ndarray, np.ndarray]:
    """matlabPyrTools ``rcosFn``: a cos^2 ramp from 0 to 1 over ``width`` octaves centred at ``position``,
    tabulated at 259 points (flat ends) for piecewise-linear look-up."""
    samples = 256
    phase = np.pi * np.arange(-samples - 1, 2) / 2 / samples
    values = np.cos(phase) ** 2
    values[0] = values[1]
    values[samples + 2] = values[samples + 1]
    return position + 2 * width / np.pi * (phase + np.pi / 4), values


def _table_lookup(grid: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Piecewise-linear look-up, rounded to float32 (pyiqa keeps its masks as float32)."""
    return np.interp(grid.ravel(), xs, ys).reshape(grid.shape).astype(np.float32).astype(np.float64)


def _low_band_crop(dims: tuple[int, int]) -> tuple[slice, slice]:
    """The centred low-frequency block one octave down (buildSCFpyrLevs: ctr, lodims, loctr, lostart)."""
    slices = []
    for d in dims:
        centre = int(np.ceil((d + 0.5) / 2))
        low_dims = int(np.ceil((d - 0.5) / 2))
        low_centre = int(np.ceil((low_dims + 0.5) / 2))
        start = centre - low_centre
        slices.append(slice(start, start + low_dims))
    return slices[0], slices[1]


@lru_cache(maxsize=16)  # per image size; small (the masks are 1/8 of the image per side)
def _level_filters(height: int, width: int) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """For an image size: the crop of the centred spectrum down to the coarsest band level, the product of
    the low-pass masks met on the way, the 8 oriented band-pass masks of that level (times the constant
    (-i)^(orientations - 1)) and the Gaussian pooling weight of the CW-SSIM maps."""
    log_radius, angle = _polar_grid(height, width)
    ramp_x, ramp_y = _raised_cosine_table()
    high_values = np.sqrt(ramp_y)
    low_values = np.sqrt(1 - high_values**2)
    low_pass = _table_lookup(log_radius, ramp_x, low_values)  # lo0 mask (before level 1)
    rows, cols = slice(0, height), slice(0, width)
    for _ in range(LEVELS - 1):
        ramp_x = ramp_x - 1  # one octave down
        crop_rows, crop_cols = _low_band_crop(log_radius.shape)
        log_radius, angle = log_radius[crop_rows, crop_cols], angle[crop_rows, crop_cols]
        low_pass = low_pass[crop_rows, crop_cols] * _table_lookup(log_radius, ramp_x, np.abs(low_values))
        rows = slice(rows.start + crop_rows.start, rows.start + crop_rows.stop)
        cols = slice(cols.start + crop_cols.start, cols.start + crop_cols.stop)
    ramp_x = ramp_x - 1
    high_pass = _table_lookup(log_radius, ramp_x, high_values)

    order = ORIENTATIONS - 1
    const = 2 ** (2 * order) * factorial(order) ** 2 / (ORIENTATIONS * factorial(2 * order))
    angles = np.pi * np.arange(-(2 * ANGLE_TABLE_SIZE + 1), ANGLE_TABLE_SIZE + 2) / ANGLE_TABLE_SIZE
    wrapped = (angles + np.pi) % (2 * np.pi) - np.pi
    angle_values = 2 * np.sqrt(const) * np.cos(angles) ** order * (np.abs(wrapped) < np.pi / 2)
    rotation = np.power(complex(0, -1), order)
    bands = np.stack([
        _table_lookup(angle, angles + np.pi * b / ORIENTATIONS, angle_values) * high_pass
        for b in range(ORIENTATIONS)
    ])
    masks = (low_pass * bands).astype(np.complex128) * rotation
    band_rows, band_cols = log_radius.shape
    return (rows, cols), masks, _pooling_weight(band_rows, band_cols)


def _pooling_weight(band_rows: int, band_cols: int) -> np.ndarray:
    """MATLAB's fspecial('gaussian', size(band) - 6, rows / 4), rounded to float32 as pyiqa's is."""
    sigma = band_rows / 4
    ys = np.arange(band_rows - WINDOW + 1) - (band_rows - WINDOW) / 2
    xs = np.arange(band_cols - WINDOW + 1) - (band_cols - WINDOW) / 2
    weight = np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * sigma**2))
    weight[weight < np.finfo(weight.dtype).eps * weight.max()] = 0
    return (weight / weight.sum()).astype(np.float32).astype(np.float64)


def _coarsest_bands(luma: np.ndarray) -> np.ndarray:
    """Complex coefficients of the 8 orientations of level 4, N x 8 x h x w."""
    height, width = luma.shape[1:]
    (rows, cols), masks, _ = _level_filters(height, width)
    spectrum = scipy.fft.fftshift(scipy.fft.fft2(luma), axes=(-2, -1))
    centre = spectrum[:, rows, cols]
    return scipy.fft.ifft2(scipy.fft.ifftshift(centre[:, None] * masks, axes=(-2, -1)))


def _box_mean(plane: np.ndarray) -> np.ndarray:
    """Mean over the 7x7 windows that fit inside the plane ("valid")."""
    margin = WINDOW // 2
    return cv2.blur(plane, (WINDOW, WINDOW), borderType=cv2.BORDER_REFLECT_101)[margin:-margin, margin:-margin]


def _magnitude(values: np.ndarray) -> np.ndarray:
    return np.sqrt(values.real**2 + values.imag**2 + MAGNITUDE_EPS)


def cw_ssim(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """CW-SSIM of each image (N x H x W x 3 uint8) against its reference."""
    check_min_side("cw_ssim", images, MIN_SIDE, "for its 4 pyramid levels")
    height, width = images.shape[1:3]
    weight = _level_filters(height, width)[2]
    bands_x = _coarsest_bands(luma_255(images, np.float64))
    bands_y = _coarsest_bands(luma_255(references, np.float64))
    scores = np.empty(len(images))
    for index, (image_bands, reference_bands) in enumerate(zip(bands_x, bands_y, strict=True)):
        per_orientation = []
        for band_x, band_y in zip(image_bands, reference_bands, strict=True):
            product = band_x * np.conj(band_y)
            correlation = _box_mean(np.ascontiguousarray(product.real)) + 1j * _box_mean(
                np.ascontiguousarray(product.imag))
            energy = _box_mean(_magnitude(band_x) ** 2 + _magnitude(band_y) ** 2)
            index_map = 2 * _magnitude(correlation) / energy
            per_orientation.append(np.sum(index_map * weight))
        scores[index] = np.mean(per_orientation)
    return scores
