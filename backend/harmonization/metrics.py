"""iHarmony4 evaluation metrics: MSE, fMSE, PSNR, fPSNR (paper 002 Sec. 4.1; SPEC.md "002").

Protocol (as in the public iHarmony4 evaluation scripts used by DoveNet/HDNet and later methods):
- the harmonized image, the real image and the foreground mask are resized to 256x256 when they are not
  already that size. Images: bicubic (``Image.BICUBIC``, what the later public scripts pass to
  ``torchvision.transforms.functional.resize``; DoveNet's own script left torchvision's default, bilinear --
  ``interpolation="bilinear"`` reproduces it). The mask is opened as a 1-bit image (``convert("1")``),
  which Pillow always resizes with nearest neighbour whatever interpolation is asked for, so the evaluated
  mask is the nearest-neighbour one. ``size=None`` evaluates at native resolution instead;
- pixel values are 0..255 floats (the resized images are rounded back to 8 bits, as saving them does);
- MSE = mean over H x W x 3 of (pred - real)^2;
- fMSE = sum(mask * (pred - real)^2) / (3 * sum(mask));
- PSNR = 10 log10(255^2 / MSE); fPSNR = 10 log10(255^2 / fMSE). A zero error gives PSNR capped at
  ``MAX_PSNR_DB`` (identical images would otherwise give infinity);
- data-set figures average the per-image values; tables are split by foreground ratio
  (0-5 %, 5-15 %, 15-100 %; paper 002 Table 2), the ratio being measured on the evaluated mask.

Until 2026-12-06 this module resized images bilinearly and the mask bilinearly with a 0.5 threshold.
Measured on 16 composites of the scikit-image photos at 512x512 (the recipe of the harmonizer tests),
the scripts' resizing raises every method's mean fMSE by 5 % (composite 1743 -> 1837; the nearest-
neighbour mask keeps more border pixels, where errors are largest), while the ratios to the composite's
fMSE that the benchmarks report move by less than 0.006 (srh-tiny 0.861 -> 0.859, semantic routing
0.831 -> 0.827, Reinhard 2.227 -> 2.222).

These are registered as full-reference metrics (``ih-mse`` ... ``ih-fpsnr``, in ``registration``); fMSE and
fPSNR take the mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from backend.errors import InputError
from backend.protocols import ScoreResult, check_inputs
from backend.registry import ModelCard

EVAL_SIZE = 256
MAX_PSNR_DB = 100.0
RATIO_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("0-5%", 0.0, 0.05),
    ("5-15%", 0.05, 0.15),
    ("15-100%", 0.15, 1.0 + 1e-9),
)


@dataclass(frozen=True)
class HarmonizationErrors:
    mse: float
    fmse: float
    psnr: float
    fpsnr: float
    foreground_ratio: float

    def as_dict(self) -> dict[str, float]:
        return {
            "mse": self.mse,
            "fmse": self.fmse,
            "psnr": self.psnr,
            "fpsnr": self.fpsnr,
            "foreground_ratio": self.foreground_ratio,
        }


INTERPOLATIONS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def resize_image(image: np.ndarray, size: int, interpolation: str = "bicubic") -> np.ndarray:
    """An RGB uint8 image at size x size (``interpolation`` as the evaluation scripts), as 0..255 floats."""
    if image.shape[:2] == (size, size):
        return image.astype(np.float64)
    resized = Image.fromarray(image).resize((size, size), INTERPOLATIONS[interpolation])
    return np.asarray(resized, dtype=np.float64)


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """A bool mask at size x size as a 1-bit Pillow image resizes: nearest neighbour."""
    if mask.shape[:2] == (size, size):
        return mask.astype(bool)
    return np.asarray(Image.fromarray(mask.astype(bool)).resize((size, size), Image.Resampling.NEAREST))


def psnr_from_mse(mse: float) -> float:
    if mse <= 0.0:
        return MAX_PSNR_DB
    return float(min(10.0 * np.log10(255.0**2 / mse), MAX_PSNR_DB))


def harmonization_errors(
    prediction: np.ndarray, real: np.ndarray, mask: np.ndarray, size: int | None = EVAL_SIZE,
    interpolation: str = "bicubic",
) -> HarmonizationErrors:
    """MSE, fMSE, PSNR and fPSNR of one harmonized image against its real image (module docstring)."""
    if prediction.shape != real.shape:
        raise InputError(
            f"The harmonized image is {prediction.shape[1]}x{prediction.shape[0]} but the real image is "
            f"{real.shape[1]}x{real.shape[0]}; give images of the same size."
        )
    if mask.shape[:2] != prediction.shape[:2]:
        raise InputError(
            f"The mask is {mask.shape[1]}x{mask.shape[0]} but the image is {prediction.shape[1]}x"
            f"{prediction.shape[0]}; give a mask of the same size."
        )
    if size is not None:
        pred_f = resize_image(prediction, size, interpolation)
        real_f, mask_b = resize_image(real, size, interpolation), resize_mask(mask, size)
    else:
        pred_f, real_f, mask_b = prediction.astype(np.float64), real.astype(np.float64), mask.astype(bool)
    squared = (pred_f - real_f) ** 2
    mse = float(squared.mean())
    foreground = float(mask_b.sum())
    if foreground == 0:
        raise InputError("The foreground mask is empty at the evaluation size; give a larger foreground region.")
    fmse = float((squared * mask_b[:, :, None]).sum() / (3.0 * foreground))
    return HarmonizationErrors(mse, fmse, psnr_from_mse(mse), psnr_from_mse(fmse), foreground / mask_b.size)


def ratio_bucket(foreground_ratio: float) -> str:
    for label, low, high in RATIO_BUCKETS:
        if low <= foreground_ratio < high:
            return label
    return RATIO_BUCKETS[-1][0]


def summarize(errors: list[HarmonizationErrors]) -> dict[str, dict[str, float]]:
    """Per-image averages overall and per foreground-ratio bucket (paper 002 Tables 1-2)."""
    groups: dict[str, list[HarmonizationErrors]] = {"all": list(errors)}
    for item in errors:
        groups.setdefault(ratio_bucket(item.foreground_ratio), []).append(item)
    table: dict[str, dict[str, float]] = {}
    for label in ["all"] + [b[0] for b in RATIO_BUCKETS]:
        members = groups.get(label, [])
        if not members:
            continue
        table[label] = {
            key: float(np.mean([getattr(m, key) for m in members])) for key in ("mse", "fmse", "psnr", "fpsnr")
        }
        table[label]["count"] = float(len(members))
    return table


class HarmonizationMetric:
    """One of the iHarmony4 errors behind the registry's ``score`` protocol."""

    def __init__(self, card: ModelCard, field_name: str, size: int | None = EVAL_SIZE):
        self.card, self.field_name, self.size = card, field_name, size

    def score(self, image: np.ndarray, reference: np.ndarray | None = None, mask: np.ndarray | None = None) -> ScoreResult:
        check_inputs(self.card, image, reference, mask)
        if mask is None:  # whole-image metrics do not depend on the mask
            mask = np.ones(image.shape[:2], dtype=bool)
        errors = harmonization_errors(image, reference, mask, self.size)
        return ScoreResult(getattr(errors, self.field_name), errors.as_dict())
