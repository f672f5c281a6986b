"""Requirement labels of the built set (paper 004 Sec. 4.1 C and Eq. 4, applied to ``data``'s columns).

A requirement is one label column of ``labels.csv`` (``psnr``, ``ssim``, ``ms_ssim``, ``fsim``, ``vsi``,
``gmsd``, ``vif``, ``nlpd``, ``cw_ssim``, ``level``). Labels keep their natural direction (``gmsd``,
``nlpd`` and ``level`` are DMOS-like: higher is worse), PSNR is capped at 50 dB (pyiqa reports 80 dB for
identical images, which would squash every other value), and each column is min-max normalised onto
[0, 1] with the minimum and maximum of the *training* rows (Sec. 4.1 C), so held-out rows use the
training scale.

Training augmentations (Eq. 4), applied to the n prompt scores and the targets of one group together:
random scaling ``f_RS(S) = S / max(S)`` with probability 0.5 and random flipping ``f_RF(S) = alpha - S``
(alpha = 1) with probability 0.1.

Mixtures (a departure from the paper, which has 12 human-rated data sets to mix and we have 5 training
columns by default): with probability ``mix_rate`` a group's requirement is a random convex combination of
two training columns, both first oriented MOS-like, so that the model meets more requirements than columns.

Family re-weighting (also a departure, off by default): with probability ``reweight_rate`` a group's
requirement, oriented MOS-like, is raised to a power drawn per distortion family (``reweight_families``).
The order within each family is kept and pristine images stay at their score; what changes is how much
each kind of distortion costs -- which is how the held-out metrics differ from the trained ones (MS-SSIM
forgives noise that SSIM punishes), so the prompt, not the training columns, has to say it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backend.iqa.promptiqa.data import LOWER_BETTER, REQUIREMENTS

PSNR_CAP = 50.0
DEFAULT_TRAIN = ("psnr", "ssim", "vsi", "gmsd", "level")  # the shipped model's (vif, nlpd, cw_ssim: --requirements)
DEFAULT_HELD_OUT = ("fsim", "ms_ssim")


def raw_labels(table: pd.DataFrame, requirement: str) -> np.ndarray:
    if requirement not in REQUIREMENTS:
        raise ValueError(f"unknown requirement {requirement!r}; known: {REQUIREMENTS}")
    values = table[requirement].to_numpy(np.float64)
    return np.minimum(values, PSNR_CAP) if requirement == "psnr" else values


def normalised_labels(table: pd.DataFrame, requirement: str, scale_rows: np.ndarray) -> np.ndarray:
    """The requirement's labels on [0, 1] by the min and max over ``scale_rows`` (boolean mask)."""
    values = raw_labels(table, requirement)
    low, high = values[scale_rows].min(), values[scale_rows].max()
    return (values - low) / (high - low)


def random_scaling(scores: np.ndarray) -> np.ndarray:
    """Eq. 4, f_RS: divide every score (prompt and target) by their maximum."""
    peak = scores.max()
    return scores / peak if peak > 0 else scores


def random_flipping(scores: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Eq. 4, f_RF: alpha - S (turns MOS into DMOS and back)."""
    return alpha - scores


def augment(scores: np.ndarray, rng: np.random.Generator, rs_rate: float = 0.5, rf_rate: float = 0.1) -> np.ndarray:
    """Apply RS and RF to one group's scores (prompt scores and targets in one array)."""
    if rng.random() < rs_rate:
        scores = random_scaling(scores)
    if rng.random() < rf_rate:
        scores = random_flipping(scores)
    return scores


def training_columns(table: pd.DataFrame, requirements, train_rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: normalised_labels(table, name, train_rows) for name in requirements}


def family_codes(table: pd.DataFrame) -> np.ndarray:
    """An integer code per row for its distortion family (``family`` column), -1 for the pristine images."""
    families = table["family"].astype(str).to_numpy()
    codes = pd.factorize(families, sort=True)[0]
    return np.where(families == "pristine", -1, codes)


def reweight_families(oriented: np.ndarray, families: np.ndarray, rng: np.random.Generator,
                      spread: float = 1.5) -> np.ndarray:
    """``oriented`` (MOS-like, on [0, 1]) raised to exp(U(-spread, spread)) per family code (codes < 0, the
    pristine images, are left as they are)."""
    exponents = np.exp(rng.uniform(-spread, spread, size=max(int(families.max()) + 1, 0)))
    power = np.ones(len(families))
    distorted = families >= 0
    power[distorted] = exponents[families[distorted]]
    return np.clip(oriented, 0.0, None) ** power


def draw_requirement(columns: dict[str, np.ndarray], rng: np.random.Generator, mix_rate: float = 0.3,
                     families: np.ndarray | None = None, reweight_rate: float = 0.0) -> np.ndarray:
    """One group's requirement: a training column, or (``mix_rate``) a mixture of two, MOS-oriented; then,
    with probability ``reweight_rate`` (and ``families``, an integer code per row, -1 for pristine), its
    families re-weighted (:func:`reweight_families`)."""
    names = sorted(columns)
    if rng.random() >= mix_rate or len(names) < 2:
        name = names[rng.integers(len(names))]
        requirement, lower_better = columns[name], bool(LOWER_BETTER.get(name))
    else:
        first, second = rng.choice(names, size=2, replace=False)
        oriented = [1 - columns[n] if LOWER_BETTER.get(n) else columns[n] for n in (first, second)]
        weight = rng.uniform(0.2, 0.8)
        mixed = weight * oriented[0] + (1 - weight) * oriented[1]
        lower_better = bool(rng.random() < 0.5)
        requirement = 1 - mixed if lower_better else mixed
    if reweight_rate > 0 and families is not None and rng.random() < reweight_rate:
        oriented = reweight_families(1 - requirement if lower_better else requirement, families, rng)
        requirement = 1 - oriented if lower_better else oriented
    return requirement
