"""Dog-IQA score aggregation (paper 003 Sec. 3.2 "Assessment Score Aggregation") and the public code's variant.

Paper (``formula="paper"``), for an image with global score ``s_global``, region scores ``s_k`` and mask
areas ``a_k`` (Algorithm 1's masks, the remainder included):

    s_local = sum_k s_k a_k / sum_k a_k          (area-weighted mean; the paper writes <s, a> with the
                                                  areas as weights -- normalised, as a weighted mean)
    s_seg   = c K / c_max                        (c = number of masks = regions scored; c_max = the most
                                                  masks seen over a reference data set)
    s_Dog   = (s_global + s_local) / 2 + s_seg

Public code (``formula="public"``, SPEC.md): ``s_local + 0.1 c + 0.5 s_global`` (no 1/2 on the local part,
a fixed 0.1 per mask instead of K/c_max).

With no region (only possible when ``t`` exceeds the image area) the local score falls back to the global
one and ``c = 0`` (the paper's "direct score for the entire image").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from backend.errors import InputError

LEVEL_COUNTS = (3, 5, 7, 9)
FORMULAS = ("paper", "public")
PUBLIC_MASK_WEIGHT, PUBLIC_GLOBAL_WEIGHT = 0.1, 0.5


@dataclass(frozen=True)
class Components:
    global_score: float
    local_score: float
    seg_score: float
    final: float
    count: int
    formula: str

    def as_dict(self) -> dict:
        return asdict(self)


def check_levels(k: int) -> int:
    if int(k) not in LEVEL_COUNTS:
        raise InputError(f"K = {k} levels is not supported; use one of {', '.join(map(str, LEVEL_COUNTS))} (paper Table 5).")
    return int(k)


MAX_C_MAX = 10_000  # c_max counts masks; a larger value (or NaN / infinity) only hides s_seg or breaks it


def check_c_max(c_max: float) -> float:
    """c_max as a float: a finite number of masks from 1 to :data:`MAX_C_MAX` (issue #20: NaN gave 'nan')."""
    try:
        value = float(c_max)
    except (TypeError, ValueError):
        value = float("nan")
    if not (np.isfinite(value) and 1.0 <= value <= MAX_C_MAX):
        raise InputError(f"c_max must be a number of masks from 1 to {MAX_C_MAX}, not {c_max}; "
                         "leave it empty (or 0 in the page) for the measured default.")
    return value


def local_score(scores: Sequence[float], areas: Sequence[float]) -> float:
    """Area-weighted mean of the region scores."""
    scores, areas = np.asarray(scores, dtype=np.float64), np.asarray(areas, dtype=np.float64)
    if scores.shape != areas.shape:
        raise InputError("Give one area per region score.")
    if len(scores) == 0 or areas.sum() <= 0:
        raise InputError("The local score needs at least one region with a positive area.")
    return float((scores * areas).sum() / areas.sum())


def aggregate(global_score: float, scores: Sequence[float], areas: Sequence[float], k: int = 7,
              c_max: float = 1.0, formula: str = "paper") -> Components:
    """The final Dog-IQA score and its components (module docstring)."""
    check_levels(k)
    if formula not in FORMULAS:
        raise InputError(f"Unknown aggregation '{formula}'; use one of {', '.join(FORMULAS)}.")
    count = len(scores)
    local = local_score(scores, areas) if count else float(global_score)
    if formula == "paper":
        seg = count * k / check_c_max(c_max)
        final = (float(global_score) + local) / 2.0 + seg
    else:
        seg = PUBLIC_MASK_WEIGHT * count
        final = local + seg + PUBLIC_GLOBAL_WEIGHT * float(global_score)
    return Components(float(global_score), local, float(seg), float(final), count, formula)
