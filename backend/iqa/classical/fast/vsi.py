"""VSI: visual saliency-induced index, with SDSP saliency, gradient and chroma similarities.

Zhang, Shen & Li, "VSI: a visual saliency-induced index for perceptual image quality assessment", IEEE TIP
2014, Eqs. 3-11 (C1 = 1.27, C2 = 386, C3 = 130, alpha = 0.4, beta = 0.02, Scharr gradients of the L channel
of LMN, M and N chroma similarities, pooled with VS_m = max(VS_1, VS_2)); saliency by SDSP (Zhang, Gong &
Zhang, ICASSP 2013, Eqs. 1-5: log-Gabor band-pass of CIELab at 256x256 with omega_0 = 0.021 and
sigma_F = 1.34, central prior sigma_D = 145, warm-colour prior sigma_C = 0.001).

Equal to pyiqa 0.1.16's ``VSI`` arch with default options (``vsi``): float64 throughout from
``float64(float32(u / 255)) * 255``; bilinear resizing to 256x256 (half-pixel centres, no antialiasing) and
back (corner-aligned), both done by ``torch.nn.functional.interpolate`` as in pyiqa; CIELab with the D50
white point and pyiqa's float32-rounded matrices; an average pool of round(min side / 256) after replicate
padding of k // 2 rows/columns in front and (k - 1) // 2 behind; similarities with float32 epsilon; the
real part of the complex power of a negative chroma similarity, |S_C|^beta cos(beta pi).

What we do differently for speed: the log-Gabor filter and the central prior are built once; the log-Gabor
filtering uses the real FFT with the filter's Hermitian-symmetric part (the real part of the complex result
pyiqa keeps); LMN is taken after the average pool (both are linear). Scores differ by rounding (about 1e-10).
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

SALIENCY_SIZE = 256
C1, C2, C3, ALPHA, BETA = 1.27, 386.0, 130.0, 0.4, 0.02
OMEGA_0, SIGMA_F, SIGMA_D, SIGMA_C = 0.021, 1.34, 145.0, 0.001
EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
SCHARR_X = np.array([[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]) / 16
# pyiqa holds these as float32 tensors.
XYZ_FROM_RGB = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]], dtype=np.float32).astype(np.float64)
D50_WHITE = np.array([0.9642119944211994, 1, 0.8251882845188288], dtype=np.float32).astype(np.float64)
LMN_FROM_RGB = np.array([[0.06, 0.63, 0.27], [0.30, 0.04, -0.35], [0.34, -0.6, 0.17]],
                        dtype=np.float32).astype(np.float64)


def _centred_axis(length: int) -> np.ndarray:
    if length % 2:
        return (np.arange(-(length - 1) / 2, length / 2) / (length - 1)).astype(np.float32)
    return (np.arange(-length / 2, length / 2) / length).astype(np.float32)


@cache
def _saliency_constants() -> tuple[np.ndarray, np.ndarray]:
    """The SDSP log-Gabor filter as a half spectrum (its Hermitian-symmetric part) and the central prior."""
    rows, cols = np.meshgrid(_centred_axis(SALIENCY_SIZE), _centred_axis(SALIENCY_SIZE), indexing="ij")
    radius = np.sqrt(rows**2 + cols**2)  # float32, as pyiqa builds it
    radius = np.fft.ifftshift(radius * (radius <= 0.5))
    radius[0, 0] = 1
    with np.errstate(divide="ignore"):  # log(0) outside the disc: the filter is exp(-inf) = 0 there
        log_gabor = np.exp(-np.log(radius / np.float32(OMEGA_0)) ** 2 / np.float32(2 * SIGMA_F**2))
    log_gabor[0, 0] = 0
    log_gabor = log_gabor.astype(np.float64)
    mirrored = np.roll(log_gabor[::-1, ::-1], 1, axis=(0, 1))  # G(-k)
    half = ((log_gabor + mirrored) / 2)[:, : SALIENCY_SIZE // 2 + 1]
    offsets = (rows.astype(np.float64) * SALIENCY_SIZE + 1, cols.astype(np.float64) * SALIENCY_SIZE + 1)
    central = np.exp(-(offsets[0] ** 2 + offsets[1] ** 2) / SIGMA_D**2)
    return half, central


def _resize(planes: np.ndarray, size: tuple[int, int], align_corners: bool) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(planes))
    with torch.inference_mode():
        return F.interpolate(tensor, size=size, mode="bilinear", align_corners=align_corners).numpy()


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELab (D50) of N x 3 x h x w RGB at the 0..255 scale (powers as exp/log and cbrt: same values to
    about 1e-16 relative, several times faster than ``**``)."""
    unit = rgb / 255.0
    linear = np.where(unit <= 0.04045, unit / 12.92, np.exp(2.4 * np.log((unit + 0.055) / 1.055)))
    xyz = np.einsum("ij,njhw->nihw", XYZ_FROM_RGB, linear) / D50_WHITE[None, :, None, None]
    f = np.where(xyz > 0.008856, np.cbrt(xyz + EPS64), (903.3 * xyz + 16.0) / 116.0)
    return np.stack([116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], axis=1)


def saliency(rgb: np.ndarray) -> np.ndarray:
    """SDSP map of N x 3 x H x W RGB (0..255), min-max normalised, N x 1 x H x W."""
    height, width = rgb.shape[2:]
    half_filter, central = _saliency_constants()
    small = _resize(rgb / 255 * 255, (SALIENCY_SIZE, SALIENCY_SIZE), align_corners=False)
    lab = _lab(small)
    band = np.fft.irfft2(np.fft.rfft2(lab) * half_filter, s=(SALIENCY_SIZE, SALIENCY_SIZE))
    frequency = np.sqrt(np.sum(band**2, axis=1, keepdims=True) + EPS64)
    low, high = lab.min(axis=(2, 3), keepdims=True), lab.max(axis=(2, 3), keepdims=True)
    normalized = (lab - low) / (high - low + EPS64)
    colour = 1 - np.exp(-np.sum(normalized[:, 1:] ** 2, axis=1, keepdims=True) / SIGMA_C**2)
    saliency_map = _resize(frequency * central * colour, (height, width), align_corners=True)
    low, high = saliency_map.min(axis=(2, 3), keepdims=True), saliency_map.max(axis=(2, 3), keepdims=True)
    return (saliency_map - low) / (high - low + EPS64)


def _pool(planes: np.ndarray, factor: int) -> np.ndarray:
    """pyiqa's replicate padding (k // 2 in front, (k - 1) // 2 behind) and k x k average pool."""
    if factor == 1:
        return planes
    front, back = factor // 2, (factor - 1) // 2
    padded = np.pad(planes, ((0, 0), (0, 0), (front, back), (front, back)), mode="edge")
    rows, cols = padded.shape[2] // factor, padded.shape[3] // factor
    total = np.zeros((*planes.shape[:2], rows, cols))
    for dy in range(factor):
        for dx in range(factor):
            total += padded[:, :, dy : rows * factor : factor, dx : cols * factor : factor]
    return total / (factor * factor)


def _lmn(rgb: np.ndarray) -> np.ndarray:
    red, green, blue = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    return np.stack([(red * w[0] + green * w[1]) + blue * w[2] for w in LMN_FROM_RGB], axis=1)


def _similarity(a: np.ndarray, b: np.ndarray, constant: float) -> np.ndarray:
    return (2.0 * a * b + constant) / (a**2 + b**2 + constant + EPS32)


def _gradient_magnitude(plane: np.ndarray) -> np.ndarray:
    grad_x = cv2.filter2D(plane, cv2.CV_64F, SCHARR_X, borderType=cv2.BORDER_CONSTANT)
    grad_y = cv2.filter2D(plane, cv2.CV_64F, SCHARR_X.T, borderType=cv2.BORDER_CONSTANT)
    return np.sqrt(grad_x**2 + grad_y**2 + EPS64)


def vsi(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """VSI of each image (N x H x W x 3 uint8) against its reference."""
    table = (np.arange(256, dtype=np.float32) / np.float32(255)).astype(np.float64) * 255.0
    x = table.take(images.transpose(0, 3, 1, 2))
    y = table.take(references.transpose(0, 3, 1, 2))
    factor = max(1, round(min(images.shape[1:3]) / 256))
    vs_x, vs_y = _pool(saliency(x), factor), _pool(saliency(y), factor)
    # LMN is linear per pixel, so it commutes with the padding and the average pool.
    lmn_x, lmn_y = _lmn(_pool(x, factor)), _lmn(_pool(y, factor))
    scores = np.empty(len(images))
    for index in range(len(images)):
        s_vs = _similarity(vs_x[index, 0], vs_y[index, 0], C1)
        s_gm = _similarity(_gradient_magnitude(lmn_x[index, 0]), _gradient_magnitude(lmn_y[index, 0]), C2)
        s_c = _similarity(lmn_x[index, 1], lmn_y[index, 1], C3) * _similarity(lmn_x[index, 2], lmn_y[index, 2], C3)
        chroma = np.abs(s_c) ** BETA * np.where(s_c < 0, np.cos(BETA * np.pi), 1.0)
        vs_max = np.maximum(vs_x[index, 0], vs_y[index, 0])
        weighted = s_vs * s_gm**ALPHA * chroma * vs_max
        scores[index] = (weighted.sum() + EPS64) / (vs_max.sum() + EPS64)
    return scores
