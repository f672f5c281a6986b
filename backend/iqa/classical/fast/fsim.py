"""FSIMc: feature similarity with chroma, from phase congruency and gradient magnitude.

Zhang, Zhang, Mou & Zhang, "FSIM: a feature similarity index for image quality assessment", IEEE TIP 2011,
Eqs. 1-8 and 10: phase congruency PC (Kovesi's log-Gabor construction with 4 scales from wavelength 6,
scale factor 2, sigma_f 0.55, 4 orientations, angular spread ratio 1.2, noise threshold k = 2), Scharr
gradient magnitude GM, similarities with T1 = 0.85, T2 = 160, chroma similarities of I and Q with
T3 = T4 = 200 raised to lambda = 0.03, pooled with PC_m = max(PC_1, PC_2).

Equal to pyiqa 0.1.16's ``FSIM`` arch with default options (``fsim``: chromatic): pixels
``float32(u/255) * 255`` (which is exactly u), an average pool of ``round(min(H, W) / 256)`` (Python's round,
so 384 px pools by 2 and 640 px too), YIQ of the pooled pixels, the phase-congruency energy summed over
orientations after each orientation's noise threshold (estimated from the lower median of the smallest
scale's squared amplitude, as torch.median returns it), float32 machine epsilon wherever pyiqa adds it, and
Scharr derivatives with zero padding.

What we do differently for speed: the log-Gabor filters and the noise constants that depend only on the
image size (pyiqa rebuilds them, and inverse-transforms all 16 filters, for every image) are built once per
size; the filter responses come from scipy's complex64 FFT and the energies are float32 like pyiqa's, pooled
in float64, so scores differ by the order of float32 operations (about 1e-7). The 16 inverse FFTs per image
remain (pyiqa spends much of its time in them too); the phase congruency maps of a batch's images and
references are computed on a pool of threads, one per CPU core (pocketfft and NumPy release the GIL), as
pyiqa's torch kernels use every core.

pyiqa returns NaN for images with a side of 1 px (its frequency grid divides by side - 1); we raise
InputError. For an image whose luma is constant, every filter response is zero and pyiqa's phase congruency becomes a
ratio of float32 FFT rounding errors (e.g. 0.69 for black against white, where the exact eps / eps
convention gives 0.98); no implementation can reproduce that value, so we raise InputError.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import cv2
import numpy as np
import scipy.fft

from backend.errors import InputError
from backend.iqa.classical.fast import check_min_side
from backend.iqa.classical.fast.colour import YIQ_FROM_RGB

SCALES = 4
ORIENTATIONS = 4
MIN_WAVELENGTH = 6
MULT = 2
SIGMA_F = 0.55
DELTA_THETA = 1.2
K = 2.0
T1, T2, T3, T4, LAMBDA = 0.85, 160.0, 200.0, 200.0, 0.03
EPS32 = float(np.finfo(np.float32).eps)  # pyiqa's epsilons are float32's, its working precision
SCHARR_X = np.array([[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]) / 16


def _centred_axis(length: int) -> np.ndarray:
    if length % 2:
        return (np.arange(-(length - 1) / 2, length / 2) / (length - 1)).astype(np.float32)
    return (np.arange(-length / 2, length / 2) / length).astype(np.float32)


@lru_cache(maxsize=4)  # a few image sizes: 16 filters of 1024x768 pooled by 3 take 11 MB
def _filters(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The 16 log-Gabor transfer functions (orientation-major, unshifted spectrum layout, complex64; built in
    float32 as pyiqa builds them) and, per orientation, the noise-threshold factor T / sqrt(noise power)
    (Kovesi's Rayleigh model, divided by 1.7)."""
    rows, cols = np.meshgrid(_centred_axis(height), _centred_axis(width), indexing="ij")
    radius = np.sqrt(rows * rows + cols * cols)
    low_pass = np.fft.ifftshift(1.0 / (1.0 + (radius / 0.45) ** (2 * 15)))  # Butterworth, cutoff 0.45, n 15
    theta = np.fft.ifftshift(np.arctan2(-cols, rows))
    radius = np.fft.ifftshift(radius)
    radius[0, 0] = 1
    log_radius = np.log(radius)
    filters = np.empty((ORIENTATIONS, SCALES, height, width), dtype=np.float32)
    radial = []
    for scale in range(SCALES):
        centre = 1.0 / (MIN_WAVELENGTH * MULT**scale)
        log_gabor = np.exp(-((log_radius - np.float32(math.log(centre))) ** 2) / (2 * math.log(SIGMA_F) ** 2))
        log_gabor *= low_pass
        log_gabor[0, 0] = 0
        radial.append(log_gabor)
    theta_sigma = math.pi / (ORIENTATIONS * DELTA_THETA)
    sin_theta, cos_theta = np.sin(theta), np.cos(theta)
    for orientation in range(ORIENTATIONS):
        angle = orientation * math.pi / ORIENTATIONS
        sin_diff = sin_theta * math.cos(angle) - cos_theta * math.sin(angle)
        cos_diff = cos_theta * math.cos(angle) + sin_theta * math.sin(angle)
        spread = np.exp(-(np.arctan2(sin_diff, cos_diff) ** 2) / (2 * theta_sigma**2))
        for scale in range(SCALES):
            np.multiply(spread, radial[scale], out=filters[orientation, scale])

    # Noise model (Kovesi): energy^2 of filtered noise of power P is 2 P sum_s |a_s|^2 + 4 P sum_{s<t} a_s . a_t,
    # with a_s the real part of the spatial filter times sqrt(H W) (pyiqa's filters_ifft). By Parseval these
    # sums equal sums over frequencies of the filters' Hermitian-symmetric parts, so no inverse FFT is needed.
    mirrored = np.roll(filters[..., ::-1, ::-1], 1, axis=(-2, -1))  # G(-k)
    symmetric = (filters + mirrored).reshape(ORIENTATIONS * SCALES, -1).astype(np.float64)
    gram = (symmetric @ symmetric.T / 4).reshape(ORIENTATIONS, SCALES, ORIENTATIONS, SCALES)
    per_orientation = gram[np.arange(ORIENTATIONS), :, np.arange(ORIENTATIONS), :]  # (o, s, t)
    sum_squares = np.trace(per_orientation, axis1=1, axis2=2)
    sum_cross = np.triu(per_orientation, k=1).sum(axis=(1, 2))
    smallest_scale_power = np.sum(np.square(filters[:, 0], dtype=np.float64), axis=(1, 2))
    # T = (tau sqrt(pi/2) + k tau sqrt(2 - pi/2)) / 1.7 with tau = sqrt(P (sum_squares + 2 sum_cross)), and the
    # noise power P = mean_e2n / smallest_scale_power; returned as T / sqrt(mean_e2n).
    tau_per_root = np.sqrt((2 * sum_squares + 4 * sum_cross) / smallest_scale_power / 2)
    threshold_factor = (tau_per_root * math.sqrt(math.pi / 2) + K * np.sqrt((2 - math.pi / 2) * tau_per_root**2)) / 1.7
    return filters.reshape(ORIENTATIONS * SCALES, height, width).astype(np.complex64), threshold_factor


def _lower_median(values: np.ndarray) -> float:
    """torch.median: the lower of the two middle values for an even count."""
    middle = (values.size - 1) // 2
    return float(np.partition(values.ravel(), middle)[middle])


def phase_congruency(luma: np.ndarray) -> np.ndarray:
    """Kovesi's PC_2 map of one plane (the pooled luma), float64 out; the responses are complex64."""
    height, width = luma.shape
    filters, threshold_factor = _filters(height, width)
    responses = scipy.fft.fft2(luma.astype(np.float32)) * filters
    responses = scipy.fft.ifft2(responses, overwrite_x=True).reshape(ORIENTATIONS, SCALES, height, width)
    amplitude = np.abs(responses)  # A_{o,s} = |even + i odd|
    amplitude_sum = amplitude.sum(axis=(0, 1), dtype=np.float64)
    even, odd = responses.real, responses.imag  # views: a copy costs more than the strided reads
    energy_sum = np.zeros((height, width))
    for o in range(ORIENTATIONS):
        sum_even, sum_odd = even[o].sum(axis=0), odd[o].sum(axis=0)
        magnitude = np.sqrt(sum_even * sum_even + sum_odd * sum_odd)
        norm = magnitude + np.float32(EPS32)
        # sum_s A_s (cos(phi_s - phi_mean) - |sin(phi_s - phi_mean)|), phi_mean the phase of the summed response:
        # the cosines add up to |sum| / norm * |sum|, each sine is (odd_s sum_even - even_s sum_odd) / (A_s norm)
        deviation = np.abs(odd[o] * sum_even - even[o] * sum_odd).sum(axis=0) / norm
        energy = (magnitude * magnitude / norm - deviation).astype(np.float64)
        # torch.median's lower median of A_{o,0}^2 (squaring is monotonic, so square the median)
        median_power = float(_lower_median(amplitude[o, 0])) ** 2
        threshold = threshold_factor[o] * math.sqrt(-median_power / math.log(0.5))
        energy_sum += np.maximum(energy - threshold, 0.0)
    return (energy_sum + EPS32) / (amplitude_sum + EPS32)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1), thread_name_prefix="fsim")


def _phase_congruency_maps(planes: list[np.ndarray]) -> list[np.ndarray]:
    """:func:`phase_congruency` of each plane, on the thread pool when there are several."""
    if len(planes) == 1 or (os.cpu_count() or 1) == 1:
        return [phase_congruency(plane) for plane in planes]
    return list(_pool().map(phase_congruency, planes))


def _similarity(a: np.ndarray, b: np.ndarray, constant: float) -> np.ndarray:
    return (2.0 * a * b + constant) / (a**2 + b**2 + constant + EPS32)


def _gradient_magnitude(luma: np.ndarray) -> np.ndarray:
    grad_x = cv2.filter2D(luma, cv2.CV_64F, SCHARR_X, borderType=cv2.BORDER_CONSTANT)
    grad_y = cv2.filter2D(luma, cv2.CV_64F, SCHARR_X.T, borderType=cv2.BORDER_CONSTANT)
    return np.sqrt(grad_x**2 + grad_y**2 + EPS32)


def _pooled_yiq(images: np.ndarray) -> np.ndarray:
    """N x 3 x h x w: YIQ after pyiqa's average pool of round(min side / 256) of the pixels
    ``float32(u/255) * 255``, which equal u exactly for every u."""
    height, width = images.shape[1:3]
    factor = max(1, round(min(height, width) / 256))
    rows, cols = height // factor, width // factor
    block_sums = np.zeros((len(images), rows, cols, 3), dtype=np.int32)
    for dy in range(factor):
        for dx in range(factor):
            block_sums += images[:, dy : rows * factor : factor, dx : cols * factor : factor]
    rgb = block_sums / float(factor * factor)
    weights = YIQ_FROM_RGB.astype(np.float64)
    return np.stack([(rgb[..., 0] * w[0] + rgb[..., 1] * w[1]) + rgb[..., 2] * w[2] for w in weights], axis=1)


def fsim(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """FSIMc of each image (N x H x W x 3 uint8) against its reference."""
    check_min_side("fsim", images, 2)
    distorted, reference = _pooled_yiq(images), _pooled_yiq(references)
    for role, batch in (("image", distorted), ("reference", reference)):
        if (np.ptp(batch[:, 0], axis=(1, 2)) == 0).any():
            raise InputError(
                f"'fsim' cannot score {'an' if role == 'image' else 'a'} {role} with no contrast (constant "
                "brightness): its phase congruency is undefined there; use another metric for it."
            )
    maps = _phase_congruency_maps([plane for pair in zip(distorted[:, 0], reference[:, 0], strict=True)
                                   for plane in pair])
    scores = np.empty(len(images))
    for index, (x, y) in enumerate(zip(distorted, reference, strict=True)):
        pc_x, pc_y = maps[2 * index], maps[2 * index + 1]
        pc_max = np.maximum(pc_x, pc_y)
        similarity = (
            _similarity(pc_x, pc_y, T1)
            * _similarity(_gradient_magnitude(x[0]), _gradient_magnitude(y[0]), T2)
            * np.abs(_similarity(x[1], y[1], T3) * _similarity(x[2], y[2], T4)) ** LAMBDA
        )
        scores[index] = np.sum(similarity * pc_max) / np.sum(pc_max)
    return scores
