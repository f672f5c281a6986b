"""Colour-statistics transfers used to make composites (iHarmony4 recipe) and by the baseline harmonizers.

Each transfer maps an (N, 3) array of RGB ``uint8``-range pixels (the region being changed) given the
pixels, or the statistics, of a target; colour conversions come from scikit-image. iHarmony4 (Cong et al.
2020) uses Reinhard transfer in Ruderman's l-alpha-beta space; here it runs in CIELAB (scikit-image has no
l-alpha-beta conversion; both decorrelate luminance from two opponent chroma axes) -- a documented departure.

- :func:`reinhard`: per-channel mean and standard deviation matched in CIELAB (Reinhard et al. 2001);
  ``strength`` (0..1) moves the mean by that fraction and the spread by that fraction in log space.
- :func:`mean_covariance`: RGB mean and covariance matched with the symmetric linear map
  ``A = C_t^1/2 (C_t^1/2 C_s C_t^1/2)^-1/2 C_t^1/2`` (the Monge-Kantorovich linear transfer of Pitie &
  Kokaram 2007), the "RGB mean+covariance" transfer of iHarmony4.
- :func:`histogram_match`: per-channel cumulative histogram mapping in YCbCr
  (``skimage.exposure.match_histograms``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_image(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(pixels, dtype=np.float64).reshape(1, -1, 3) / 255.0


def to_lab(pixels: np.ndarray) -> np.ndarray:
    from skimage import color

    return color.rgb2lab(_as_image(pixels)).reshape(-1, 3)


def from_lab(lab: np.ndarray) -> np.ndarray:
    import warnings

    from skimage import color

    with warnings.catch_warnings():  # out-of-gamut values are clipped, which is what we want
        warnings.simplefilter("ignore", UserWarning)
        rgb = color.lab2rgb(np.asarray(lab, dtype=np.float64).reshape(1, -1, 3)).reshape(-1, 3)
    return np.clip(rgb * 255.0, 0, 255)


@dataclass(frozen=True)
class LabStats:
    mean: np.ndarray  # (3,)
    std: np.ndarray  # (3,)

    @staticmethod
    def of(pixels: np.ndarray) -> LabStats:
        lab = to_lab(pixels)
        return LabStats(lab.mean(axis=0), lab.std(axis=0))


def reinhard(pixels: np.ndarray, target: LabStats, strength: float | np.ndarray = 1.0,
             spread_strength: float | np.ndarray | None = None) -> np.ndarray:
    """Move ``pixels``' CIELAB mean/std toward ``target``; returns float RGB 0..255 (module docstring)."""
    lab = to_lab(pixels)
    mean, std = lab.mean(axis=0), np.maximum(lab.std(axis=0), 1e-3)
    alpha = np.broadcast_to(np.asarray(strength, dtype=np.float64), (3,))
    beta = alpha if spread_strength is None else np.broadcast_to(np.asarray(spread_strength, dtype=np.float64), (3,))
    new_std = std * np.exp(beta * (np.log(np.maximum(target.std, 1e-3)) - np.log(std)))
    new_mean = mean + alpha * (target.mean - mean)
    return from_lab((lab - mean) / std * new_std + new_mean)


def _sqrtm_psd(matrix: np.ndarray, inverse: bool = False) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    values = np.maximum(values, 1e-6)
    return (vectors * (values ** (-0.5 if inverse else 0.5))) @ vectors.T


def mean_covariance(pixels: np.ndarray, target_pixels: np.ndarray) -> np.ndarray:
    """Match the RGB mean and covariance of ``pixels`` to ``target_pixels`` (float RGB 0..255)."""
    source = np.asarray(pixels, dtype=np.float64)
    target = np.asarray(target_pixels, dtype=np.float64)
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    cov_s = np.cov(source, rowvar=False) + np.eye(3) * 1e-3
    cov_t = np.cov(target, rowvar=False) + np.eye(3) * 1e-3
    root_t = _sqrtm_psd(cov_t)
    middle = _sqrtm_psd(root_t @ cov_s @ root_t, inverse=True)
    transform = root_t @ middle @ root_t
    return np.clip((source - mu_s) @ transform.T + mu_t, 0, 255)


def histogram_match(pixels: np.ndarray, target_pixels: np.ndarray) -> np.ndarray:
    """Per-channel cumulative histogram mapping in YCbCr (float RGB 0..255)."""
    from skimage import color, exposure

    source = color.rgb2ycbcr(_as_image(pixels))
    target = color.rgb2ycbcr(_as_image(target_pixels))
    matched = exposure.match_histograms(source, target, channel_axis=-1)
    return np.clip(color.ycbcr2rgb(matched).reshape(-1, 3) * 255.0, 0, 255)


def paste(image: np.ndarray, mask: np.ndarray, new_pixels: np.ndarray) -> np.ndarray:
    """``image`` with the masked pixels replaced by ``new_pixels`` (rounded to uint8)."""
    out = image.copy()
    out[mask] = np.clip(np.rint(new_pixels), 0, 255).astype(np.uint8)
    return out
