"""Deterministic distortions of real photos at graded levels, and the MOS proxy derived from them.

One function, :func:`distort` ``(image, family, level, rng)``, applies a distortion family at level 1..5
(level 0 is the pristine photo); each family is a small function of ``(image, parameter, rng)`` and a
row of five parameters in :data:`FAMILIES` (no copy-paste variants). Families: Gaussian blur, motion
blur, Gaussian noise, JPEG, contrast reduction, desaturation, colour cast, brightness (gamma, darker or
brighter at random), downscale-upscale and pixelation -- the synthetic distortions of LIVE / CSIQ /
KADID-10k (paper 001 Sec. 4.1) that can be produced deterministically on CPU.

MOS proxy (documented per-type scale, KADID-like 1..5): every family's five parameters were chosen so
that the same level is a comparable visible loss across families (level 1 just visible, level 5 severe);
the proxy is linear in the level,

    mos = 5 - 0.8 * level            (pristine 5.0, level 5 -> 1.0)

and its standard deviation -- which Eq. 2 and the anchor choice of Eq. 4 need -- is modelled as a base
rater spread plus the disagreement between the level scale and a full-reference measurement:

    mos_fr  = piecewise-linear map of SSIM (luminance, against the pristine photo) onto the level scale,
              with knots at the median SSIM of each level pooled over the luminance-visible families
              (SSIM 1.0 -> 5.0, 0.965 -> 4.2, 0.915 -> 3.4, 0.86 -> 2.6, 0.80 -> 1.8, 0.735 -> 1.0)
    mos_std = 0.3 + 0.5 * |mos - mos_fr|

so images whose measured damage matches their level (most blur, JPEG, contrast, rescaling images) are
"consistent" low-variance candidates for anchors, and those where a fidelity metric and the level
disagree (noise, which SSIM punishes harder; colour changes, which luminance SSIM does not see) are
uncertain, as they would be for human raters. The constants
were set once by looking at the SSIM medians per level of the built set (the build script writes them to
``calibration.json`` beside the CSV).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backend.errors import InputError

LEVELS = (1, 2, 3, 4, 5)
MOS_BEST, MOS_STEP = 5.0, 0.8
BASE_STD, DISAGREEMENT_WEIGHT = 0.3, 0.5
SSIM_KNOTS = (0.735, 0.80, 0.86, 0.915, 0.965, 1.0)  # increasing SSIM ...
SSIM_KNOT_MOS = (1.0, 1.8, 2.6, 3.4, 4.2, 5.0)  # ... and the level-scale MOS it maps to


def _as_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _gaussian_blur(image, sigma, rng):
    import cv2

    return cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)


def _motion_blur(image, length, rng):
    import cv2

    size = int(length) | 1
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1.0
    angle = float(rng.uniform(0, 180))
    rotation = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (size, size))
    kernel /= kernel.sum()
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def _gaussian_noise(image, sigma, rng):
    return _to_uint8(_as_float(image) + rng.normal(0.0, float(sigma), image.shape))


def _jpeg(image, quality, rng):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _contrast(image, factor, rng):
    values = _as_float(image)
    return _to_uint8(values.mean() + (values - values.mean()) * float(factor))


def _desaturate(image, factor, rng):
    values = _as_float(image)
    gray = values @ np.array([0.299, 0.587, 0.114], np.float32)
    return _to_uint8(gray[..., None] + (values - gray[..., None]) * float(factor))


def _colour_cast(image, magnitude, rng):
    direction = rng.normal(size=3)
    direction -= direction.mean()  # a hue shift, not a brightness change
    direction /= np.linalg.norm(direction) + 1e-12
    return _to_uint8(_as_float(image) + float(magnitude) * direction)


def _brightness(image, gamma_excess, rng):
    gamma = 1.0 + float(gamma_excess)
    if rng.random() < 0.5:
        gamma = 1.0 / gamma  # brighter instead of darker
    return _to_uint8(255.0 * (_as_float(image) / 255.0) ** gamma)


def _resize(image, width, height, interpolation):
    import cv2

    return cv2.resize(image, (max(1, int(width)), max(1, int(height))), interpolation=interpolation)


def _downscale(image, factor, rng):
    import cv2

    height, width = image.shape[:2]
    small = _resize(image, round(width / factor), round(height / factor), cv2.INTER_AREA)
    return _resize(small, width, height, cv2.INTER_CUBIC)


def _pixelate(image, block, rng):
    import cv2

    height, width = image.shape[:2]
    small = _resize(image, round(width / block), round(height / block), cv2.INTER_AREA)
    return _resize(small, width, height, cv2.INTER_NEAREST)


@dataclass(frozen=True)
class Family:
    apply: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
    parameters: tuple[float, float, float, float, float]  # levels 1..5
    parameter_name: str


FAMILIES: dict[str, Family] = {
    "gaussian_blur": Family(_gaussian_blur, (0.8, 1.4, 2.2, 3.4, 5.0), "sigma (px)"),
    "motion_blur": Family(_motion_blur, (3, 5, 9, 13, 19), "length (px)"),
    "gaussian_noise": Family(_gaussian_noise, (6, 12, 20, 32, 48), "sigma (of 255)"),
    "jpeg": Family(_jpeg, (45, 25, 15, 9, 5), "quality"),
    "contrast": Family(_contrast, (0.75, 0.55, 0.4, 0.28, 0.18), "factor"),
    "desaturation": Family(_desaturate, (0.6, 0.35, 0.18, 0.08, 0.0), "saturation factor"),
    "colour_cast": Family(_colour_cast, (10, 20, 32, 48, 68), "offset (of 255)"),
    "brightness": Family(_brightness, (0.3, 0.6, 1.0, 1.5, 2.2), "gamma - 1"),
    "downscale": Family(_downscale, (1.5, 2.0, 3.0, 4.0, 6.0), "factor"),
    "pixelate": Family(_pixelate, (2, 3, 5, 8, 12), "block (px)"),
}


def distort(image: np.ndarray, family: str, level: int, rng: np.random.Generator) -> np.ndarray:
    """``image`` (RGB uint8) with ``family`` applied at ``level`` (0 = unchanged, 1..5 = graded)."""
    if family not in FAMILIES:
        raise InputError(f"Unknown distortion '{family}'; use one of {', '.join(FAMILIES)}.")
    if level not in (0, *LEVELS):
        raise InputError(f"Distortion level {level} is out of range; use 0 (pristine) to 5 (severe).")
    if level == 0:
        return image.copy()
    entry = FAMILIES[family]
    return np.ascontiguousarray(entry.apply(image, entry.parameters[level - 1], rng), dtype=np.uint8)


def level_mos(level: int | np.ndarray) -> np.ndarray | float:
    """The MOS proxy of a distortion level: 5 - 0.8 * level (pristine 5, level 5 -> 1)."""
    return MOS_BEST - MOS_STEP * np.asarray(level, dtype=np.float64)


def fidelity(image: np.ndarray, reference: np.ndarray) -> float:
    """SSIM of the luminance (scikit-image, Gaussian window as in Wang et al. 2004)."""
    from skimage.metrics import structural_similarity

    weights = np.array([0.299, 0.587, 0.114])
    return float(structural_similarity(reference @ weights, image @ weights, data_range=255.0,
                                       gaussian_weights=True, sigma=1.5, use_sample_covariance=False))


def fidelity_mos(ssim: float | np.ndarray) -> np.ndarray | float:
    """SSIM mapped onto the level scale by the calibrated knots (clipped to 1..5)."""
    return np.interp(np.asarray(ssim, dtype=np.float64), SSIM_KNOTS, SSIM_KNOT_MOS)


def mos_std(mos: float | np.ndarray, ssim: float | np.ndarray) -> np.ndarray | float:
    """Modelled rating spread: base spread plus half the level/fidelity disagreement (module docstring)."""
    return BASE_STD + DISAGREEMENT_WEIGHT * np.abs(np.asarray(mos, dtype=np.float64) - fidelity_mos(ssim))


def rng_for(*parts: object) -> np.random.Generator:
    """A generator seeded from the text of ``parts`` (photo key, family, level): same inputs, same image."""
    import hashlib

    digest = hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))
