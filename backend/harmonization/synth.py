"""Composite synthesis by the iHarmony4 recipe (SPEC.md "002"; Cong et al. 2020, used by paper 002 Sec. 4.1).

A real photo and a foreground region give a training triple (composite, mask, real): the region's colours
are changed and the untouched photo is the ground truth. One of three transfers is drawn (``colour.py``):
Reinhard transfer of CIELAB mean/std from a donor (another region of the same photo, or another photo),
RGB mean+covariance transfer from a donor, or YCbCr cumulative histogram mapping to a donor; then a mild
photometric jitter (brightness, contrast, saturation, hue, gamma) is applied to the region. Like iHarmony4,
a draw is rejected when it barely changes the region (foreground MSE below ``min_fmse``) or changes it
beyond recognition (above ``max_fmse``), and drawn again.

iHarmony4's other sources, HAdobe5k and Hday2night, are *retouch swaps*: the foreground comes from another
expert retouch (MIT-Adobe FiveK), or another exposure at another time of day, of the same photo. We have no
retouched or multi-illumination photos, so :func:`retouch` stands in for them: one global photographic edit
(exposure, white balance, tone curve, saturation) applied to the region, as if it were cut from a
differently retouched copy of the photo. ``retouch_fraction`` is the share of such samples (0 by default,
which gives the donor-transfer recipe draw for draw; iHarmony4's test set is 31 % HAdobe5k + Hday2night).
Departures: CIELAB instead of l-alpha-beta; the retouch swap is synthetic.

Regions come from the offline segmenter (one region of the photo covering 1-50 % of it) or from a cut-out
object with alpha (Tux Paint stamps) pasted onto the photo, in which case the pasted photo is the "real"
image and the donors are other photos (a cartoon stamp rarely matches its new background, so these samples
teach "restore the object's own colours", not "copy the background"; the data-set builder uses few). Everything is deterministic given the seed (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.harmonization import colour

TRANSFERS = ("reinhard", "mean_covariance", "histogram")
STAMP_ROOT = Path("/usr/share/tuxpaint/stamps")


@dataclass
class Sample:
    composite: np.ndarray
    mask: np.ndarray
    real: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def list_stamps(root: Path = STAMP_ROOT) -> list[Path]:
    """Tux Paint stamp PNGs (cut-out objects with alpha) from ``tuxpaint-stamps-default``, sorted."""
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*.png") if not p.stem.endswith(("_mirror", "_back", "_shadow")))


def jitter(pixels: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> tuple[np.ndarray, dict]:
    """Brightness, contrast, saturation, hue and gamma jitter of (N, 3) RGB pixels (0..255 floats)."""
    from skimage import color

    params = {
        "brightness": float(rng.uniform(-0.08, 0.08) * amount),
        "contrast": float(np.exp(rng.uniform(-0.2, 0.2) * amount)),
        "saturation": float(np.exp(rng.uniform(-0.3, 0.3) * amount)),
        "hue": float(rng.uniform(-0.04, 0.04) * amount),
        "gamma": float(np.exp(rng.uniform(-0.2, 0.2) * amount)),
    }
    unit = np.clip(np.asarray(pixels, dtype=np.float64) / 255.0, 0, 1)
    unit = np.clip((unit - unit.mean()) * params["contrast"] + unit.mean() + params["brightness"], 0, 1)
    hsv = color.rgb2hsv(unit.reshape(1, -1, 3))
    hsv[..., 0] = (hsv[..., 0] + params["hue"]) % 1.0
    hsv[..., 1] = np.clip(hsv[..., 1] * params["saturation"], 0, 1)
    unit = color.hsv2rgb(hsv).reshape(-1, 3) ** params["gamma"]
    return unit * 255.0, params


def srgb_to_linear(unit: np.ndarray) -> np.ndarray:
    return np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def retouch(pixels: np.ndarray, rng: np.random.Generator, amount: float = 1.0) -> tuple[np.ndarray, dict]:
    """One global photographic edit of (N, 3) RGB pixels (0..255), standing in for iHarmony4's retouch swap.

    The edits a retoucher makes to a whole photo (MIT-Adobe FiveK, the source of HAdobe5k): exposure in
    stops and a white balance (temperature: red against blue; tint: green) as gains in linear light, then
    an S-shaped tone curve ``y = x - c sin(2 pi x) / (2 pi)`` (monotonic for ``|c| < 1``; ``c > 0`` adds
    contrast) and a saturation scale about Rec. 601 luma, in sRGB.
    """
    params = {
        "exposure_stops": float(rng.uniform(-1.0, 1.0) * amount),
        "temperature": float(rng.uniform(-0.3, 0.3) * amount),
        "tint": float(rng.uniform(-0.1, 0.1) * amount),
        "tone_curve": float(rng.uniform(-0.5, 0.5) * amount),
        "saturation": float(np.exp(rng.uniform(-0.4, 0.4) * amount)),
    }
    gains = 2.0 ** params["exposure_stops"] * np.exp([params["temperature"], params["tint"], -params["temperature"]])
    unit = linear_to_srgb(srgb_to_linear(np.clip(np.asarray(pixels, dtype=np.float64) / 255.0, 0, 1)) * gains)
    unit = unit - params["tone_curve"] * np.sin(2 * np.pi * unit) / (2 * np.pi)
    luma = unit @ np.array([0.299, 0.587, 0.114])
    unit = np.clip(luma[:, None] + params["saturation"] * (unit - luma[:, None]), 0, 1)
    return unit * 255.0, params


def change_colours(pixels: np.ndarray, donor: np.ndarray, transfer: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    if transfer == "reinhard":
        changed = colour.reinhard(pixels, colour.LabStats.of(donor))
    elif transfer == "mean_covariance":
        changed = colour.mean_covariance(pixels, donor)
    elif transfer == "histogram":
        changed = colour.histogram_match(pixels, donor)
    else:
        raise ValueError(f"unknown transfer {transfer!r}; use one of {TRANSFERS}")
    return jitter(changed, rng)


def synthesize(real: np.ndarray, mask: np.ndarray, donors: list[np.ndarray], seed: int,
               min_fmse: float = 100.0, max_fmse: float = 2500.0, attempts: int = 8,
               retouch_fraction: float = 0.0) -> Sample:
    """A composite of ``real`` whose ``mask`` region takes its colours from one of ``donors`` (pixel arrays),
    or, with probability ``retouch_fraction``, from a :func:`retouch` of the photo.

    Deterministic given ``seed``. ``donors`` are (N, 3) RGB pixel arrays (other regions or other photos).
    """
    rng = np.random.default_rng(seed)
    region = real[mask].astype(np.float64)
    swap = retouch_fraction > 0 and rng.uniform() < retouch_fraction
    best: tuple[float, np.ndarray, dict] | None = None
    for attempt in range(attempts):
        if swap:
            changed, params = retouch(region, rng)
            info = {"transfer": "retouch", "retouch": params}
        else:
            transfer = TRANSFERS[int(rng.integers(len(TRANSFERS)))]
            donor_index = int(rng.integers(len(donors)))
            changed, params = change_colours(region, donors[donor_index], transfer, rng)
            info = {"transfer": transfer, "donor": donor_index, "jitter": params}
        fmse = float(((np.rint(changed) - region) ** 2).mean())
        info.update(fmse=fmse, attempt=attempt)
        if min_fmse <= fmse <= max_fmse:
            best = (fmse, changed, info)
            break
        if best is None or abs(np.log(fmse + 1) - np.log(600)) < abs(np.log(best[0] + 1) - np.log(600)):
            best = (fmse, changed, info)
    _, changed, info = best
    return Sample(colour.paste(real, mask, changed), mask.copy(), real.copy(), info)


def pick_region(regions: list[np.ndarray], rng: np.random.Generator, low: float = 0.01, high: float = 0.5) -> int | None:
    """Index of a random region covering ``low``..``high`` of the image, or None."""
    fractions = [m.mean() for m in regions]
    eligible = [i for i, f in enumerate(fractions) if low <= f <= high]
    return int(rng.choice(eligible)) if eligible else None


def paste_stamp(photo: np.ndarray, stamp_rgb: np.ndarray, stamp_alpha: np.ndarray, rng: np.random.Generator,
                fraction: tuple[float, float] = (0.03, 0.3)) -> tuple[np.ndarray, np.ndarray]:
    """Paste a cut-out object onto ``photo`` at a random place and scale; returns (pasted photo, mask)."""
    import cv2

    height, width = photo.shape[:2]
    ys, xs = np.nonzero(stamp_alpha)
    stamp_rgb = stamp_rgb[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    stamp_alpha = stamp_alpha[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    area = rng.uniform(*fraction) * height * width
    scale = np.sqrt(area / max(1.0, stamp_alpha.mean() * stamp_alpha.size))
    new_h = int(np.clip(round(stamp_alpha.shape[0] * scale), 8, height - 1))
    new_w = int(np.clip(round(stamp_alpha.shape[1] * scale), 8, width - 1))
    rgb = cv2.resize(stamp_rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(stamp_alpha.astype(np.float32), (new_w, new_h), interpolation=cv2.INTER_LINEAR) >= 0.5
    top, left = int(rng.integers(0, height - new_h + 1)), int(rng.integers(0, width - new_w + 1))
    pasted = photo.copy()
    window = pasted[top:top + new_h, left:left + new_w]
    window[alpha] = rgb[alpha]
    mask = np.zeros((height, width), dtype=bool)
    mask[top:top + new_h, left:left + new_w] = alpha
    return pasted, mask


def region_sample(photo: np.ndarray, regions: list[np.ndarray], other_photos: list[np.ndarray], seed: int,
                  retouch_fraction: float = 0.0) -> Sample | None:
    """A composite whose foreground is one segmenter region of ``photo`` (None when no region fits)."""
    rng = np.random.default_rng(seed)
    index = pick_region(regions, rng)
    if index is None:
        return None
    mask = regions[index]
    donors = [photo[r] for i, r in enumerate(regions) if i != index and r.sum() >= 64]
    donors += [p.reshape(-1, 3) for p in other_photos]
    sample = synthesize(photo, mask, donors, seed=int(rng.integers(2**31)), retouch_fraction=retouch_fraction)
    sample.info.update(source="region", region=index)
    return sample


def stamp_sample(photo: np.ndarray, stamp_rgb: np.ndarray, stamp_alpha: np.ndarray, other_photos: list[np.ndarray],
                 seed: int, retouch_fraction: float = 0.0) -> Sample:
    """A composite whose foreground is a cut-out object pasted onto ``photo`` (the pasted photo is "real")."""
    rng = np.random.default_rng(seed)
    real, mask = paste_stamp(photo, stamp_rgb, stamp_alpha, rng)
    donors = [p.reshape(-1, 3) for p in other_photos] or [real[~mask]]
    sample = synthesize(real, mask, donors, seed=int(rng.integers(2**31)), retouch_fraction=retouch_fraction)
    sample.info.update(source="stamp")
    return sample
