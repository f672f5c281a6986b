"""iHarmony4 evaluation metrics: MSE, fMSE, PSNR, fPSNR (paper 002 Sec. 4.1; SPEC.md "002").

Protocol (as in the public iHarmony4 evaluation scripts used by DoveNet/HDNet and paper 002):
- the harmonized image, the real image and the foreground mask are resized to 256x256 (bilinear for the
  images, as ``torchvision.transforms.functional.resize`` does on PIL images; the mask is resized
  bilinearly and thresholded at 0.5). ``size=None`` evaluates at native resolution instead;
- pixel values are 0..255 floats (the resized images are rounded back to 8 bits, as saving them does);
- MSE = mean over H x W x 3 of (pred - real)^2;
- fMSE = sum(mask * (pred - real)^2) / (3 * sum(mask));
- PSNR = 10 log10(255^2 / MSE); fPSNR = 10 log10(255^2 / fMSE). A zero error gives PSNR capped at
  ``MAX_PSNR_DB`` (identical images would otherwise give infinity);
- data-set figures average the per-image values; tables are split by foreground ratio
  (0-5 %, 5-15 %, 15-100 %; paper 002 Table 2), the ratio being measured on the evaluated mask.

These are registered as full-reference metrics (``ih-mse`` ... ``ih-fpsnr``, in ``registration``); fMSE and fPSNR
take the mask.
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


def _resize_image(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[:2] == (size, size):
        return image.astype(np.float64)
    resized = Image.fromarray(image).resize((size, size), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float64)


def _resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    if mask.shape[:2] == (size, size):
        return mask.astype(bool)
    soft = Image.fromarray(mask.astype(np.float32)).resize((size, size), Image.BILINEAR)
    return np.asarray(soft) >= 0.5


def psnr_from_mse(mse: float) -> float:
    if mse <= 0.0:
        return MAX_PSNR_DB
    return float(min(10.0 * np.log10(255.0**2 / mse), MAX_PSNR_DB))


def harmonization_errors(
    prediction: np.ndarray, real: np.ndarray, mask: np.ndarray, size: int | None = EVAL_SIZE
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
        pred_f, real_f, mask_b = _resize_image(prediction, size), _resize_image(real, size), _resize_mask(mask, size)
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
