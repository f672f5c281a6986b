"""Mean opinion scores with ITU-R BT.500 subject screening (paper 000, Sec. II-C and Eq. 1).

Screening (ITU-R BT.500-13, Annex 2 §2.3.1, as used by HarmonyIQAD):

* per item ``j``: mean ``u_j``, standard deviation ``s_j`` (N - 1 denominator) and kurtosis
  ``beta2_j = m4 / m2^2`` over the subjects that rated it. If ``2 <= beta2_j <= 4`` the ratings are
  taken as normal and a rating is an outlier when it lies outside ``u_j +- 2 s_j``; otherwise outside
  ``u_j +- sqrt(20) s_j``. "Outside" is strict, so an item everybody rated alike (``s_j = 0``) yields
  no outliers; items with one rating yield none either. Note the consequence of the kurtosis switch:
  one deviant rating among very consistent ones makes the item's ratings peaked (beta2 > 4), so the
  wide sqrt(20) sd limit applies and the deviant is *not* an outlier; screening bites when the panel
  itself has ordinary spread.
* ``rule="fraction"`` (default; what the paper and SPEC.md state): a subject is rejected when more than
  ``max_outlier_fraction`` (5 %) of their ratings are outliers.
* ``rule="bt500"``: the classical P/Q rule — with ``P`` ratings above and ``Q`` below the interval,
  reject when ``(P + Q) / N > 0.05`` and ``|P - Q| / (P + Q) < 0.3`` (the second condition spares a
  subject who is merely shifted in one direction; such a bias is removed by the z-scores anyway).

MOS (Eq. 1): outlier ratings and rejected subjects are removed ("the remaining valid ratings are
converted into z-scores"); ``z_ij = (r_ij - mu_i) / sigma_i`` with ``mu_i`` and ``sigma_i`` (N - 1) over
subject ``i``'s valid ratings; ``z_j`` = mean of the valid ``z_ij``; ``MOS_j = 100 (z_j + 3) / 6``.
A subject whose valid ratings are all equal has no z-scale and is excluded (reported as rejected).
The 95 % interval of ``MOS_j`` is the t-interval over the subjects' rescaled values ``100 (z_ij + 3)/6``.
Repeated ratings of one item by one subject are averaged first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from backend.errors import InputError

RATING_COLUMNS = ("annotator", "item", "score")
RULES = ("fraction", "bt500")


def ratings_matrix(ratings: pd.DataFrame) -> pd.DataFrame:
    """Validate a ratings table (annotator, item, score) and pivot it to subjects x items (NaN = unrated)."""
    if not isinstance(ratings, pd.DataFrame):
        ratings = pd.DataFrame(dict(ratings))
    missing = [column for column in RATING_COLUMNS if column not in ratings.columns]
    if missing:
        raise InputError(
            f"The ratings are missing column(s) {', '.join(missing)}; expected {', '.join(RATING_COLUMNS)}.")
    table = ratings.loc[:, list(RATING_COLUMNS)].dropna(subset=["annotator", "item"])
    score = pd.to_numeric(table["score"], errors="coerce")
    bad = score.isna() & table["score"].notna()
    if bad.any():
        row = table.index[bad][0]
        raise InputError(f"Rating in row {row} has score {table.loc[row, 'score']!r}; scores must be numbers.")
    if np.isinf(score).any():
        raise InputError("Some scores are infinite; give finite numbers.")
    table = table.assign(score=score.astype(np.float64)).dropna(subset=["score"])
    if table.empty:
        raise InputError("There are no usable ratings; each row needs an annotator, an item and a score.")
    table = table.assign(annotator=table["annotator"].astype(str))
    return table.pivot_table(index="annotator", columns="item", values="score", aggfunc="mean")


def outlier_bounds(matrix: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per-item lower and upper limits: mean -+ 2 sd if beta2 in [2, 4] else mean -+ sqrt(20) sd."""
    mean = matrix.mean(axis=0)
    sd = matrix.std(axis=0, ddof=1)
    centred = matrix - mean
    m2 = (centred**2).mean(axis=0)
    m4 = (centred**4).mean(axis=0)
    beta2 = m4 / (m2.where(m2 > 0) ** 2)
    normal = beta2.between(2.0, 4.0) | beta2.isna()
    width = np.where(normal, 2.0, np.sqrt(20.0)) * sd.fillna(0.0)
    return mean - width, mean + width


@dataclass
class Screening:
    """Outlier flags per rating and the subjects rejected, with the reason for each."""

    outliers: pd.DataFrame
    above: pd.Series
    below: pd.Series
    n_ratings: pd.Series
    rejected: dict[str, str]
    rule: str


def screen_subjects(
    matrix: pd.DataFrame, rule: str = "fraction", max_outlier_fraction: float = 0.05
) -> Screening:
    """BT.500 outlier flags on a subjects x items matrix and the subjects to reject under ``rule``."""
    if rule not in RULES:
        raise InputError(f"Unknown screening rule {rule!r}; use one of {', '.join(RULES)}.")
    low, high = outlier_bounds(matrix)
    above_mask, below_mask = matrix.gt(high, axis=1), matrix.lt(low, axis=1)
    above, below = above_mask.sum(axis=1), below_mask.sum(axis=1)
    n_ratings = matrix.notna().sum(axis=1)
    fraction = (above + below) / n_ratings
    flagged = fraction > max_outlier_fraction
    if rule == "bt500":
        balance = (above - below).abs() / (above + below).where(above + below > 0)
        flagged &= balance < 0.3
    rejected = {
        subject: f"{fraction[subject]:.1%} of ratings are outliers ({rule} rule)"
        for subject in matrix.index[flagged]
    }
    return Screening(above_mask | below_mask, above, below, n_ratings, rejected, rule)


def subject_z_scores(matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Eq. 1 left part: z-score each subject's ratings; returns z and the subjects without a z-scale."""
    mean = matrix.mean(axis=1)
    sd = matrix.std(axis=1, ddof=1)
    unusable = sd.isna() | (sd <= 0)
    z = matrix.sub(mean, axis=0).div(sd.where(~unusable), axis=0)
    return z.loc[~unusable], list(matrix.index[unusable])


def z_to_mos(z):
    """Eq. 1 right part: MOS = 100 (z + 3) / 6."""
    return 100.0 * (z + 3.0) / 6.0


@dataclass
class MosResult:
    """Per-item MOS table, the rejected subjects with reasons, and the number of outlier ratings removed."""

    table: pd.DataFrame
    rejected: dict[str, str]
    n_outlier_ratings: int
    n_ratings: int
    values: pd.DataFrame | None = None  # subjects x items: each valid rating as 100 (z + 3) / 6 (NaN elsewhere)


def compute_mos(
    ratings: pd.DataFrame,
    screen: bool = True,
    rule: str = "fraction",
    max_outlier_fraction: float = 0.05,
    confidence: float = 0.95,
) -> MosResult:
    """Screen subjects (optional) and compute MOS with t-intervals: columns item, mos, ci_low, ci_high, n_ratings."""
    if not 0 < confidence < 1:
        raise InputError("The confidence level must be between 0 and 1.")
    matrix = ratings_matrix(ratings)
    rejected: dict[str, str] = {}
    n_outliers = 0
    valid = matrix
    if screen:
        screening = screen_subjects(matrix, rule, max_outlier_fraction)
        rejected.update(screening.rejected)
        kept = ~matrix.index.isin(list(screening.rejected))
        n_outliers = int(screening.outliers.loc[kept].to_numpy().sum())
        valid = matrix.where(~screening.outliers).loc[kept]
    z, unscaled = subject_z_scores(valid)
    rejected.update({subject: "all valid ratings are equal, so they cannot be z-scored" for subject in unscaled})
    values = z_to_mos(z)
    count = values.notna().sum(axis=0).reindex(matrix.columns, fill_value=0)
    mos = values.mean(axis=0).reindex(matrix.columns)
    sem = (values.std(axis=0, ddof=1) / np.sqrt(count.where(count > 0))).reindex(matrix.columns)
    half = stats.t.ppf(0.5 + confidence / 2, (count - 1).where(count > 1)) * sem
    table = pd.DataFrame({
        "item": matrix.columns.to_numpy(),
        "mos": mos.to_numpy(dtype=np.float64),
        "ci_low": (mos - half).to_numpy(dtype=np.float64),
        "ci_high": (mos + half).to_numpy(dtype=np.float64),
        "n_ratings": count.to_numpy(dtype=int),
    })
    return MosResult(table, rejected, n_outliers, int(matrix.notna().to_numpy().sum()), values)
