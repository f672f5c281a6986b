"""Agreement between predicted scores and MOS: SRCC, KRCC, PLCC, with paired bootstrap intervals.

The metrics reported by papers 000 (Tables II-III), 001 (Table 1) and the other IQA papers:

* SRCC (Spearman) and KRCC (Kendall tau-b) straight from ``scipy.stats``.
* PLCC after the VQEG 4-parameter logistic mapping of predictions onto MOS (VQEG FR-TV Phase II):
  ``f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``, fitted with ``scipy.optimize.curve_fit``.
  Initialisation: ``b1, b2`` = max / min of MOS (swapped when the rank correlation is negative),
  ``b3`` = median prediction, ``b4`` = standard deviation of the predictions. If the fit fails or gives a
  non-finite / constant mapping, PLCC falls back to the linear Pearson correlation and ``mapping`` says so;
  with fewer than ``MIN_LOGISTIC_ITEMS`` pairs (at least one more than the four parameters) the logistic is
  not fitted at all and PLCC is linear.
* ``lower_better=True`` negates the predictions first (for distortion-type metrics such as LPIPS), so a
  good metric always has positive correlations.
* Pairs with a NaN on either side are dropped; fewer than 3 valid pairs raise ``InputError``.
* Bootstrap: resample (prediction, MOS) pairs with replacement, recompute every metric, percentile
  interval (NaN-aware: a degenerate resample, e.g. all-equal values, gives NaN and is skipped).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import optimize, stats

from backend.errors import InputError
from backend.scaling.pairwise import percentile_interval

METRICS = ("srcc", "krcc", "plcc")
MIN_LOGISTIC_ITEMS = 5


def paired_values(prediction, mos, lower_better: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate two score lists, drop pairs with NaN, and negate the prediction if lower is better."""
    x = np.asarray(prediction, dtype=np.float64).ravel()
    y = np.asarray(mos, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise InputError(f"Predictions ({x.size}) and MOS ({y.size}) must have the same length.")
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        raise InputError("Correlations need at least 3 items with both a prediction and a MOS.")
    x, y = x[keep], y[keep]
    return (-x if lower_better else x), y


def _degenerate(x: np.ndarray, y: np.ndarray) -> bool:
    return np.ptp(x) == 0 or np.ptp(y) == 0


def srcc(prediction, mos, lower_better: bool = False) -> float:
    """Spearman rank-order correlation (NaN if either side is constant)."""
    x, y = paired_values(prediction, mos, lower_better)
    return float("nan") if _degenerate(x, y) else float(stats.spearmanr(x, y)[0])


def krcc(prediction, mos, lower_better: bool = False) -> float:
    """Kendall rank-order correlation (tau-b)."""
    x, y = paired_values(prediction, mos, lower_better)
    return float("nan") if _degenerate(x, y) else float(stats.kendalltau(x, y)[0])


def logistic_4(x, b1, b2, b3, b4):
    """VQEG 4-parameter logistic ``(b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``."""
    scale = np.abs(b4) + 1e-12
    return (b1 - b2) * _expit((np.asarray(x, dtype=np.float64) - b3) / scale) + b2


def _expit(t):
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def initial_logistic_parameters(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Robust start: MOS range (oriented by the rank correlation), median and spread of predictions."""
    increasing = stats.spearmanr(x, y)[0] >= 0 if not _degenerate(x, y) else True
    high, low = (np.max(y), np.min(y)) if increasing else (np.min(y), np.max(y))
    spread = np.std(x) or 1.0
    return np.array([high, low, np.median(x), spread])


def fit_logistic(x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None) -> np.ndarray | None:
    """Least-squares fit of ``logistic_4``; None when it fails or the mapping is unusable."""
    if _degenerate(x, y) or x.size < MIN_LOGISTIC_ITEMS:
        return None
    start = initial_logistic_parameters(x, y) if start is None else start
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, _ = optimize.curve_fit(logistic_4, x, y, p0=start, maxfev=10000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return None
    mapped = logistic_4(x, *params)
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(mapped)) or np.ptp(mapped) == 0:
        return None
    return params


def plcc(prediction, mos, lower_better: bool = False, logistic: bool = True) -> float:
    """Pearson correlation after the 4-parameter logistic mapping (linear if ``logistic=False`` or the fit fails)."""
    return _plcc_details(*paired_values(prediction, mos, lower_better), logistic)[0]


def _plcc_details(x, y, logistic: bool = True, start=None) -> tuple[float, str, np.ndarray | None]:
    if _degenerate(x, y):
        return float("nan"), "none", None
    params = fit_logistic(x, y, start) if logistic else None
    mapped = x if params is None else logistic_4(x, *params)
    mapping = "logistic" if params is not None else "linear"
    with warnings.catch_warnings():  # exactly constant inputs are handled above; nearly constant ones are valid
        warnings.simplefilter("ignore", stats.NearConstantInputWarning)
        return float(stats.pearsonr(mapped, y)[0]), mapping, params


def correlations(prediction, mos, lower_better: bool = False) -> dict:
    """SRCC, KRCC, PLCC and which PLCC mapping was used (``logistic`` or the ``linear`` fallback)."""
    x, y = paired_values(prediction, mos, lower_better)
    value, mapping, params = _plcc_details(x, y)
    return {
        "srcc": srcc(x, y), "krcc": krcc(x, y), "plcc": value,
        "plcc_mapping": mapping, "logistic_parameters": None if params is None else params.tolist(),
        "n": int(x.size),
    }


def bootstrap_correlations(
    prediction,
    mos,
    lower_better: bool = False,
    n_rounds: int = 1000,
    seed: int | None = 0,
    confidence: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Point values and paired-bootstrap percentile intervals: ``{metric: (value, low, high)}``."""
    if n_rounds < 1 or not 0 < confidence < 1:
        raise InputError("Bootstrap needs n_rounds >= 1 and a confidence level between 0 and 1.")
    x, y = paired_values(prediction, mos, lower_better)
    point = correlations(x, y)
    start = None if point["logistic_parameters"] is None else np.array(point["logistic_parameters"])
    rng = np.random.default_rng(seed)
    samples = np.full((n_rounds, len(METRICS)), np.nan)
    for round_index in range(n_rounds):
        pick = rng.integers(0, x.size, x.size)
        xs, ys = x[pick], y[pick]
        if not _degenerate(xs, ys):
            samples[round_index] = (stats.spearmanr(xs, ys)[0], stats.kendalltau(xs, ys)[0],
                                    _plcc_details(xs, ys, start=start)[0])
        if progress is not None:
            progress(round_index + 1, n_rounds)
    low, high = percentile_interval(samples, confidence)
    return {metric: (point[metric], float(low[k]), float(high[k])) for k, metric in enumerate(METRICS)}
