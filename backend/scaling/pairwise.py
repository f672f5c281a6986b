"""Paired-comparison scaling: Thurstone Case V MAP and Bradley–Terry, with standard errors and bootstrap.

Implements paper 001 (Compare2Score) Sec. 3.1 Eq. 1 and Sec. 3.4 Eq. 6: given a (soft) count matrix
``C`` (``C[i, j]`` = how often, or how probably, item ``i`` beat item ``j``), find scores ``q`` that
maximise

    sum_ij C_ij log F(q_i - q_j)  -  (lambda / 2) sum_i q_i^2,

with ``F = Phi`` (standard normal CDF, Thurstone Case V, unit-variance difference scale) or
``F = sigmoid`` (Bradley–Terry / logistic). Choices made, and why:

* The prior is ``q^2 / 2`` as in SPEC.md and the authors' public code (the printed Eq. 6 lacks the
  square, which would make the objective unbounded). ``prior_strength`` (lambda) defaults to 1 for
  Thurstone (a standard-normal prior on the unit-variance scale, as in the paper) and to a tiny ridge
  (1e-6, i.e. practically maximum likelihood as in choix / crowd-kit) for Bradley–Terry.
* Why the prior makes every problem well posed: each log F term is concave in ``q`` and the prior is
  strictly concave, so the objective is strictly concave with a unique finite maximiser. Without it a
  unanimous pair (i always beats j) pushes ``q_i - q_j`` to infinity, and a disconnected comparison
  graph leaves the offset between components free; with it both are pinned (unanimous pairs end at a
  finite gap, components are each centred at 0).
* Identifiability: the likelihood only depends on differences, so its gradient sums to zero; at the
  optimum ``lambda * q = grad loglik`` and therefore ``sum q = 0`` automatically — the constraint of
  Eq. 1/Eq. 6 holds without being imposed. Scores are reported centred (re-centred to remove rounding).
* Solver: Newton's method with Armijo backtracking, to convergence (max |gradient| below ``tol`` times
  the mean number of comparisons per item), not the public code's 100 Adam steps from a random start.
  It starts from the F-quantile of each item's smoothed win rate (saves a few steps); the line search
  tolerates rounding-level changes of the objective so the last quadratic steps are not rejected.
  ``model="bt"`` is also the public code's sigmoid path; ``model="thurstone"`` its Phi path.
  Pairs are stored as a list of unordered pairs with both win counts, so 100k comparisons over 1k items
  cost O(pairs) per gradient plus one dense n x n Cholesky-class solve per step (fine up to a few
  thousand items). The same solver runs a batch of independent problems (``thurstone_map_batch``).
* Ties count as half a win each way; the diagonal of ``C`` is ignored (Compare2Score puts 0.5 there).
* Standard errors: Laplace approximation, covariance = inverse negative Hessian at the optimum projected
  onto the sum-to-zero subspace (the reported scores are centred, so their covariance is
  ``P H^-1 P`` with ``P = I - 11^T/n``); computed as ``P (H + s 11^T/n)^-1 P`` which is exact for any
  ``s > 0`` and well conditioned even with the tiny ridge.
* Bootstrap: resample annotators with replacement, refit, percentile intervals; an item that no
  resampled annotator compared gets NaN for that round and the intervals use the remaining rounds.
  Annotators are the resampling unit (their votes are correlated) when there are at least
  ``MIN_ANNOTATORS_TO_RESAMPLE``; with fewer, resampling them says nothing (one annotator: every round is
  the same data, an interval of zero width), so single votes are resampled instead (``bootstrap_unit``).
  ``scale_votes`` never reports an interval narrower than the Laplace interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, special

from backend.errors import InputError

MODELS = ("thurstone", "bt")
BOOTSTRAP_UNITS = ("auto", "annotator", "vote")
MIN_ANNOTATORS_TO_RESAMPLE = 8  # fewer annotators: resample single votes (see bootstrap_unit)
DEFAULT_PRIOR_STRENGTH = {"thurstone": 1.0, "bt": 1e-6}
CHOICES = ("left", "right", "tie")
VOTE_COLUMNS = ("annotator", "left", "right", "choice")


# --------------------------------------------------------------------------------------------- links
def _log_cdf(d: np.ndarray, model: str) -> np.ndarray:
    return special.log_ndtr(d) if model == "thurstone" else -np.logaddexp(0.0, -d)


def inverse_mills_ratio(d: np.ndarray) -> np.ndarray:
    """``phi(d) / Phi(d)`` computed stably as ``sqrt(2/pi) / erfcx(-d/sqrt(2))`` (no underflow for d << 0)."""
    return np.sqrt(2.0 / np.pi) / special.erfcx(-d / np.sqrt(2.0))


def _link_slopes(d: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    """First derivative of log F(d) and minus its second derivative (the non-negative curvature)."""
    if model == "thurstone":
        ratio = inverse_mills_ratio(d)
        return ratio, ratio * (ratio + d)
    upset = special.expit(-d)
    return upset, upset * (1.0 - upset)


# --------------------------------------------------------------------------------- problem layout
@dataclass(frozen=True)
class PairProblem:
    """A batch of problems sharing one list of unordered pairs ``(first[p], second[p])``.

    ``wins[b, p]`` is how often ``first`` beat ``second`` in problem ``b``; ``losses[b, p]`` the reverse.
    """

    n_items: int
    first: np.ndarray
    second: np.ndarray
    wins: np.ndarray
    losses: np.ndarray


def validate_counts(counts: np.ndarray, batched: bool) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    expected = 3 if batched else 2
    if counts.ndim != expected or counts.shape[-1] != counts.shape[-2]:
        shape = "(B, n, n)" if batched else "(n, n)"
        raise InputError(f"The count matrix must have shape {shape}; got {counts.shape}.")
    if counts.shape[-1] < 1:
        raise InputError("The count matrix is empty; give at least one item.")
    if not np.all(np.isfinite(counts)):
        raise InputError("The count matrix contains NaN or infinite values; replace them with counts >= 0.")
    if np.any(counts < 0):
        raise InputError("The count matrix contains negative values; counts and probabilities must be >= 0.")
    return counts


def _problem_from_dense(counts: np.ndarray, only_observed: bool) -> PairProblem:
    """Lay out ``counts`` (B, n, n) as unordered pairs (all pairs, or only those compared in any problem)."""
    n = counts.shape[-1]
    if only_observed:
        compared = np.any(counts > 0, axis=0)
        first, second = np.nonzero(np.triu(compared | compared.T, k=1))
    else:
        first, second = np.triu_indices(n, k=1)
    return PairProblem(n, first, second, counts[:, first, second], counts[:, second, first])


def _select(problem: PairProblem, rows) -> PairProblem:
    """The sub-batch ``rows`` (a boolean mask or a slice) of a batch of problems."""
    return PairProblem(problem.n_items, problem.first, problem.second, problem.wins[rows], problem.losses[rows])


def _rows(mask: np.ndarray):
    """A mask as an index that avoids copies when it selects everything (the single-problem case)."""
    return slice(None) if mask.all() else mask


def _node_sums(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """For each problem b, ``out[b, k] = sum of values[b, p] over pairs p with index[p] == k``."""
    batch = values.shape[0]
    flat = (np.arange(batch)[:, None] * n + index[None, :]).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=batch * n).reshape(batch, n)


def _objective(problem: PairProblem, q: np.ndarray, model: str, prior: float) -> np.ndarray:
    d = q[:, problem.first] - q[:, problem.second]
    loglik = problem.wins * _log_cdf(d, model) + problem.losses * _log_cdf(-d, model)
    return loglik.sum(axis=1) - 0.5 * prior * np.sum(q * q, axis=1)


def _gradient_and_precision(problem: PairProblem, q: np.ndarray, model: str, prior: float):
    """Gradient of the objective and its negative Hessian (the posterior precision), both batched."""
    n, first, second = problem.n_items, problem.first, problem.second
    d = q[:, first] - q[:, second]
    slope_win, curve_win = _link_slopes(d, model)
    slope_loss, curve_loss = _link_slopes(-d, model)
    slope = problem.wins * slope_win - problem.losses * slope_loss
    gradient = _node_sums(slope, first, n) - _node_sums(slope, second, n) - prior * q
    weight = problem.wins * curve_win + problem.losses * curve_loss
    precision = np.zeros((q.shape[0], n, n))
    precision[:, first, second] = -weight
    precision[:, second, first] = -weight
    diagonal = _node_sums(weight, first, n) + _node_sums(weight, second, n) + prior
    precision[:, np.arange(n), np.arange(n)] = diagonal
    return gradient, precision


def _gauge_fixed(precision: np.ndarray, in_place: bool = False) -> np.ndarray:
    """``H + s 11^T / n``: same action on centred vectors, well conditioned even with a tiny ridge."""
    n = precision.shape[-1]
    scale = np.mean(np.diagonal(precision, axis1=1, axis2=2), axis=1)
    if in_place:
        precision += scale[:, None, None] / n
        return precision
    return precision + scale[:, None, None] / n


def _initial_scores(problem: PairProblem, model: str, prior: float) -> np.ndarray:
    """Start from the quantile of each item's smoothed win rate, shrunk like one prior-weighted step."""
    n = problem.n_items
    won = _node_sums(problem.wins, problem.first, n) + _node_sums(problem.losses, problem.second, n)
    played = _node_sums(problem.wins + problem.losses, problem.first, n) + _node_sums(
        problem.wins + problem.losses, problem.second, n)
    rate = (won + 0.5) / (played + 1.0)
    start = special.ndtri(rate) if model == "thurstone" else special.logit(rate)
    start *= played / (played + prior + 1.0)
    return start - start.mean(axis=1, keepdims=True)


def _newton(problem: PairProblem, model: str, prior: float, tol: float, max_iter: int):
    """Damped Newton ascent on all problems of the batch at once; returns (q, precision, info)."""
    batch, n = problem.wins.shape[0], problem.n_items
    q = _initial_scores(problem, model, prior)
    per_item = (problem.wins + problem.losses).sum(axis=1) * 2.0 / n
    threshold = tol * np.maximum(1.0, per_item)
    value = _objective(problem, q, model, prior)
    iterations = np.zeros(batch, dtype=int)
    stalled = np.zeros(batch, dtype=bool)
    for _ in range(max_iter + 1):
        gradient, precision = _gradient_and_precision(problem, q, model, prior)
        grad_norm = np.max(np.abs(gradient), axis=1)
        unconverged = grad_norm > threshold
        active = unconverged & ~stalled & (iterations < max_iter)
        if not np.any(active):
            break
        rows = _rows(active)
        # the precision of a step is recomputed next round, so the gauge may be added in place
        step = _solve_spd(_gauge_fixed(precision[rows], in_place=True), gradient[rows])
        step -= step.mean(axis=1, keepdims=True)
        new_q, new_value, moved = _backtrack(_select(problem, rows), q[rows], value[rows], gradient[rows],
                                             step, model, prior)
        q[rows], value[rows] = new_q, new_value
        iterations[rows] += 1
        stalled[np.flatnonzero(active)[~moved]] = True
    q -= q.mean(axis=1, keepdims=True)
    info = {"iterations": iterations, "converged": ~unconverged, "grad_norm": grad_norm}
    return q, precision, info


def _backtrack(problem, q, value, gradient, step, model, prior, shrink=0.5, armijo=1e-4, max_halvings=40):
    """Armijo backtracking per problem; a problem whose step cannot improve keeps its point."""
    slope = np.sum(gradient * step, axis=1)
    size = np.ones(q.shape[0])
    new_q, new_value = q.copy(), value.copy()
    pending = np.ones(q.shape[0], dtype=bool)
    moved = np.zeros(q.shape[0], dtype=bool)
    for _ in range(max_halvings):
        rows = _rows(pending)
        trial = q[rows] + size[rows, None] * step[rows]
        trial_value = _objective(_select(problem, rows), trial, model, prior)
        # the rounding allowance lets the last, tiny Newton steps through when f no longer resolves them
        noise = 1e-13 * (1.0 + np.abs(value[pending]))
        ok = trial_value >= value[pending] + armijo * size[pending] * slope[pending] - noise
        index = np.flatnonzero(pending)
        new_q[index[ok]], new_value[index[ok]] = trial[ok], trial_value[ok]
        pending[index[ok]] = False
        moved[index[ok]] = True
        size[pending] *= shrink
        if not np.any(pending):
            break
    return new_q, new_value, moved


def _solve_spd(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``matrix[b] x[b] = rhs[b]`` for SPD matrices (Cholesky when single; may overwrite ``matrix``)."""
    if matrix.shape[0] == 1:
        factor = linalg.cho_factor(matrix[0], lower=True, overwrite_a=True, check_finite=False)
        return linalg.cho_solve(factor, rhs[0], check_finite=False)[None]
    return np.linalg.solve(matrix, rhs[..., None])[..., 0]


def _covariance(precision: np.ndarray) -> np.ndarray:
    """Covariance of the centred scores: ``P H^-1 P`` with ``P = I - 11^T/n`` (batched)."""
    inverse = _inverse_spd(_gauge_fixed(precision))
    row_mean = inverse.mean(axis=2, keepdims=True)
    return inverse - row_mean - np.swapaxes(row_mean, 1, 2) + row_mean.mean(axis=1, keepdims=True)


def _inverse_spd(matrix: np.ndarray) -> np.ndarray:
    """Inverse of symmetric positive-definite matrices (LAPACK potrf/potri when single)."""
    if matrix.shape[0] > 1:
        return np.linalg.inv(matrix)
    factor, info = linalg.lapack.dpotrf(matrix[0], lower=True)
    inverse, info_inverse = linalg.lapack.dpotri(factor, lower=True)
    if info or info_inverse:
        return np.linalg.inv(matrix)
    return (np.tril(inverse) + np.tril(inverse, -1).T)[None]


def _prior_for(model: str, prior_strength: float | None) -> float:
    if model not in MODELS:
        raise InputError(f"Unknown scaling model {model!r}; use one of {', '.join(MODELS)}.")
    prior = DEFAULT_PRIOR_STRENGTH[model] if prior_strength is None else float(prior_strength)
    if not np.isfinite(prior) or prior <= 0:
        raise InputError("prior_strength must be a positive number (it keeps the problem well posed).")
    return prior


# ------------------------------------------------------------------------------------ public fits
@dataclass
class PairwiseFit:
    """Scores (centred, sum zero), their Laplace standard errors and covariance, and solver diagnostics."""

    scores: np.ndarray
    se: np.ndarray
    covariance: np.ndarray
    precision: np.ndarray
    model: str
    prior_strength: float
    iterations: int
    converged: bool
    grad_norm: float


def fit_pairwise(
    counts: np.ndarray,
    model: str = "thurstone",
    prior_strength: float | None = None,
    tol: float = 1e-9,
    max_iter: int = 100,
    standard_errors: bool = True,
) -> PairwiseFit:
    """MAP scores for one count matrix ``counts[i, j]`` = (soft) wins of i over j, Thurstone or BT.

    ``standard_errors=False`` skips the O(n^3) covariance (``se`` and ``covariance`` are then NaN).
    """
    prior = _prior_for(model, prior_strength)
    counts = validate_counts(counts, batched=False)
    problem = _problem_from_dense(counts[None], only_observed=True)
    q, precision, info = _newton(problem, model, prior, tol, max_iter)
    n = counts.shape[0]
    covariance = _covariance(precision)[0] if standard_errors else np.full((n, n), np.nan)
    return PairwiseFit(
        scores=q[0],
        se=np.sqrt(np.clip(np.diag(covariance), 0.0, None)),
        covariance=covariance,
        precision=precision[0],
        model=model,
        prior_strength=prior,
        iterations=int(info["iterations"][0]),
        converged=bool(info["converged"][0]),
        grad_norm=float(info["grad_norm"][0]),
    )


def thurstone_map(counts: np.ndarray, prior_strength: float = 1.0, **options) -> PairwiseFit:
    """Paper 001 Eq. 6: Thurstone Case V MAP scores of one count/probability matrix."""
    return fit_pairwise(counts, "thurstone", prior_strength, **options)


def bradley_terry(counts: np.ndarray, prior_strength: float | None = None, **options) -> PairwiseFit:
    """Bradley–Terry (logistic) scores; default tiny ridge = maximum likelihood on connected data."""
    return fit_pairwise(counts, "bt", prior_strength, **options)


def thurstone_map_batch(
    counts: np.ndarray,
    prior_strength: float = 1.0,
    tol: float = 1e-9,
    max_iter: int = 100,
    model: str = "thurstone",
) -> tuple[np.ndarray, dict]:
    """Solve B independent Eq. 6 problems at once: ``counts`` (B, n, n) -> scores (B, n), info.

    ``info`` holds per-problem ``iterations``, ``converged`` flags, final ``grad_norm`` and Laplace ``se``.
    Meant for small n (Compare2Score: 5 anchors + 1 test image, n = 6).
    """
    prior = _prior_for(model, prior_strength)
    counts = validate_counts(counts, batched=True)
    if counts.shape[0] == 0:
        return np.zeros((0, counts.shape[-1])), {
            "iterations": np.zeros(0, int), "converged": np.zeros(0, bool),
            "grad_norm": np.zeros(0), "se": np.zeros((0, counts.shape[-1]))}
    problem = _problem_from_dense(counts, only_observed=False)
    q, precision, info = _newton(problem, model, prior, tol, max_iter)
    covariance = _covariance(precision)
    info["se"] = np.sqrt(np.clip(np.diagonal(covariance, axis1=1, axis2=2), 0.0, None))
    return q, info


def objective(counts: np.ndarray, scores: np.ndarray, model: str = "thurstone",
              prior_strength: float | None = None) -> float:
    """The maximised objective at ``scores`` (for checks against generic optimisers)."""
    prior = _prior_for(model, prior_strength)
    counts = validate_counts(counts, batched=False)
    problem = _problem_from_dense(counts[None], only_observed=False)
    return float(_objective(problem, np.asarray(scores, dtype=np.float64)[None], model, prior)[0])


def gradient(counts: np.ndarray, scores: np.ndarray, model: str = "thurstone",
             prior_strength: float | None = None) -> np.ndarray:
    """Gradient of ``objective`` (zero at the optimum: the first-order conditions)."""
    prior = _prior_for(model, prior_strength)
    counts = validate_counts(counts, batched=False)
    problem = _problem_from_dense(counts[None], only_observed=False)
    grad, _ = _gradient_and_precision(problem, np.asarray(scores, dtype=np.float64)[None], model, prior)
    return grad[0]


# ------------------------------------------------------------------------------------ vote tables
def read_votes(votes: pd.DataFrame | Mapping[str, object], require_annotator: bool = False) -> pd.DataFrame:
    """Validate a vote table (columns annotator, left, right, choice in left/right/tie).

    Rows with a missing left, right or choice are dropped (an unanswered vote carries no information);
    a choice other than left/right/tie, or a vote comparing an item with itself, raises InputError.
    """
    table = votes if isinstance(votes, pd.DataFrame) else pd.DataFrame(dict(votes))
    needed = ("annotator",) * require_annotator + ("left", "right", "choice")
    missing = [column for column in needed if column not in table.columns]
    if missing:
        raise InputError(
            f"The votes are missing column(s) {', '.join(missing)}; expected {', '.join(VOTE_COLUMNS)}.")
    table = table.dropna(subset=["left", "right", "choice"]).copy()
    if require_annotator and table["annotator"].isna().any():
        table = table.dropna(subset=["annotator"])
    table["choice"] = table["choice"].astype(str).str.strip().str.lower()
    bad = ~table["choice"].isin(CHOICES)
    if bad.any():
        row = table.index[bad][0]
        raise InputError(
            f"Vote in row {row} has choice {table.loc[row, 'choice']!r}; each choice must be left, right or tie.")
    same = table["left"] == table["right"]
    if same.any():
        raise InputError(f"Vote in row {table.index[same][0]} compares an item with itself; remove it.")
    return table


def _sorted_items(values: pd.Series) -> np.ndarray:
    unique = pd.Index(pd.unique(values))
    try:
        return np.asarray(unique.sort_values(), dtype=object)
    except TypeError:
        return np.asarray(unique, dtype=object)


@dataclass
class VoteCounts:
    """Items, the aggregated count matrix, and per-annotator contributions over the observed pairs."""

    items: np.ndarray
    counts: np.ndarray
    annotators: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    pair_first: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    pair_second: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    annotator_wins: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    annotator_losses: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    vote_pair: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # observed pair of each vote
    vote_first_score: np.ndarray = field(default_factory=lambda: np.zeros(0))  # 1 / 0.5 / 0 for the pair's first item

    @property
    def n_votes(self) -> int:
        return len(self.vote_pair)

    @property
    def n_comparisons(self) -> np.ndarray:
        """Comparisons each item took part in (ties count once)."""
        return self.counts.sum(axis=0) + self.counts.sum(axis=1)


def count_votes(votes: pd.DataFrame | Mapping[str, object], items=None) -> VoteCounts:
    """Aggregate votes into ``counts[i, j]`` = wins of item i over j (ties add 0.5 each way).

    ``items`` fixes the item order (and may list items without votes); otherwise items are sorted.
    When an ``annotator`` column is present the per-annotator pair counts needed by the bootstrap are
    kept as well (annotators are compared as strings; votes without an annotator form one group "nan").
    """
    table = read_votes(votes)
    if items is None:
        items = _sorted_items(pd.concat([table["left"], table["right"]], ignore_index=True))
    items = np.asarray(items, dtype=object)
    position = pd.Index(items)
    if not position.is_unique:
        raise InputError("The item list contains duplicates; give each item once.")
    left, right = position.get_indexer(table["left"]), position.get_indexer(table["right"])
    if np.any(left < 0) or np.any(right < 0):
        raise InputError("Some votes name items that are not in the given item list; add them to it.")
    choice = table["choice"].to_numpy()
    left_score = np.where(choice == "left", 1.0, np.where(choice == "tie", 0.5, 0.0))
    n = len(items)
    counts = np.zeros((n, n))
    np.add.at(counts, (left, right), left_score)
    np.add.at(counts, (right, left), 1.0 - left_score)
    result = VoteCounts(items=items, counts=counts)
    if "annotator" in table.columns:
        _add_annotator_counts(result, table["annotator"].to_numpy(), left, right, left_score)
    return result


def _add_annotator_counts(result: VoteCounts, annotator, left, right, left_score) -> None:
    n = len(result.items)
    annotators, who = np.unique(annotator.astype(str), return_inverse=True)
    low, high = np.minimum(left, right), np.maximum(left, right)
    pair_keys, pair = np.unique(low * n + high, return_inverse=True)
    low_score = np.where(left == low, left_score, 1.0 - left_score)
    shape = (len(annotators), len(pair_keys))
    wins, losses = np.zeros(shape), np.zeros(shape)
    np.add.at(wins, (who, pair), low_score)
    np.add.at(losses, (who, pair), 1.0 - low_score)
    result.annotators = annotators.astype(object)
    result.pair_first, result.pair_second = pair_keys // n, pair_keys % n
    result.annotator_wins, result.annotator_losses = wins, losses
    result.vote_pair, result.vote_first_score = pair, low_score


# -------------------------------------------------------------------------------------- bootstrap
@dataclass
class BootstrapResult:
    """Bootstrap score samples (rounds x items, NaN where an item was not compared) and intervals."""

    samples: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    confidence: float
    unit: str = "annotator"  # what was resampled: whole annotators, or single votes


def percentile_interval(samples: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware percentile interval over axis 0 (all-NaN columns give NaN)."""
    samples = np.asarray(samples, dtype=np.float64)
    tail = 50.0 * (1.0 - confidence)
    out = np.full((2,) + samples.shape[1:], np.nan)
    valid = np.any(np.isfinite(samples), axis=0)
    if np.any(valid):
        out[:, valid] = np.nanpercentile(samples[:, valid], [tail, 100.0 - tail], axis=0)
    return out[0], out[1]


def bootstrap_unit(n_annotators: int, unit: str = "auto") -> str:
    """What a bootstrap resamples: ``annotator`` (whole annotators, the right unit when their votes are
    correlated) when asked, or for ``auto`` when there are at least ``MIN_ANNOTATORS_TO_RESAMPLE`` of them;
    else ``vote`` -- with a single annotator, resampling annotators would redraw the same data every round and
    give intervals of zero width."""
    if unit not in BOOTSTRAP_UNITS:
        raise InputError(f"Unknown bootstrap unit {unit!r}; use one of {', '.join(BOOTSTRAP_UNITS)}.")
    if unit == "auto":
        return "annotator" if n_annotators >= MIN_ANNOTATORS_TO_RESAMPLE else "vote"
    return unit


def bootstrap_scores(
    votes: pd.DataFrame | Mapping[str, object] | VoteCounts,
    model: str = "thurstone",
    n_rounds: int = 500,
    seed: int | None = 0,
    confidence: float = 0.95,
    prior_strength: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    unit: str = "annotator",
) -> BootstrapResult:
    """Percentile CIs by resampling annotators (or single votes: ``unit``, see :func:`bootstrap_unit`) with
    replacement and refitting (reproducible by ``seed``)."""
    data = votes if isinstance(votes, VoteCounts) else count_votes(read_votes(votes, require_annotator=True))
    if len(data.annotators) == 0:
        raise InputError("Bootstrap needs an annotator column with at least one annotator.")
    if n_rounds < 1 or not 0 < confidence < 1:
        raise InputError("Bootstrap needs n_rounds >= 1 and a confidence level between 0 and 1.")
    prior = _prior_for(model, prior_strength)
    unit = bootstrap_unit(len(data.annotators), unit)
    rng = np.random.default_rng(seed)
    n, n_annotators, n_pairs = len(data.items), len(data.annotators), len(data.pair_first)
    samples = np.full((n_rounds, n), np.nan)
    for round_index in range(n_rounds):
        if unit == "annotator":
            weight = np.bincount(rng.integers(0, n_annotators, n_annotators), minlength=n_annotators)
            wins, losses = weight @ data.annotator_wins, weight @ data.annotator_losses
        else:
            weight = np.bincount(rng.integers(0, data.n_votes, data.n_votes), minlength=data.n_votes)
            wins = np.bincount(data.vote_pair, weight * data.vote_first_score, minlength=n_pairs)
            losses = np.bincount(data.vote_pair, weight * (1.0 - data.vote_first_score), minlength=n_pairs)
        observed = wins + losses > 0
        problem = PairProblem(n, data.pair_first[observed], data.pair_second[observed],
                              wins[None, observed], losses[None, observed])
        q, _, _ = _newton(problem, model, prior, tol=1e-9, max_iter=100)
        compared = np.zeros(n, dtype=bool)
        compared[problem.first] = compared[problem.second] = True
        samples[round_index, compared] = q[0, compared]
        if progress is not None:
            progress(round_index + 1, n_rounds)
    low, high = percentile_interval(samples, confidence)
    return BootstrapResult(samples, low, high, confidence, unit)


def scale_votes(
    votes: pd.DataFrame | Mapping[str, object],
    model: str = "thurstone",
    n_bootstrap: int = 0,
    seed: int | None = 0,
    prior_strength: float | None = None,
    confidence: float = 0.95,
    progress: Callable[[int, int], None] | None = None,
    unit: str = "auto",
) -> pd.DataFrame:
    """Scores per item as a table: item, score, ci_low, ci_high, se, n_comparisons.

    Without bootstrap the interval is the Laplace (normal) interval score +- z * se. With ``n_bootstrap > 0``
    it is the bootstrap percentile interval (annotators or single votes resampled: ``unit``, see
    :func:`bootstrap_unit`) widened where needed to contain the Laplace interval: a percentile interval can
    collapse (every resample of a handful of unanimous votes gives the same fit), the model's own
    uncertainty cannot, so no interval is ever narrower than the Laplace one. ``table.attrs["interval"]``
    says which interval was computed.
    """
    data = count_votes(votes)
    if len(data.items) == 0:
        raise InputError("There are no usable votes; each row needs left, right and a choice.")
    fit = fit_pairwise(data.counts, model, prior_strength)
    z = special.ndtri(0.5 + confidence / 2)
    low, high = fit.scores - z * fit.se, fit.scores + z * fit.se
    described = f"Laplace (normal) {confidence:.0%} interval"
    if n_bootstrap > 0:
        if len(data.annotators) == 0:  # votes without annotators: each vote is its own unit
            data = count_votes(pd.DataFrame(votes).assign(annotator="all"), items=data.items)
        boot = bootstrap_scores(data, model, n_bootstrap, seed, confidence, prior_strength, progress, unit)
        low, high = np.fmin(low, boot.ci_low), np.fmax(high, boot.ci_high)
        described = (f"{confidence:.0%} bootstrap percentile interval over {n_bootstrap} resamples of "
                     f"{'annotators' if boot.unit == 'annotator' else 'single votes'}, at least the Laplace interval")
    table = pd.DataFrame({
        "item": data.items, "score": fit.scores, "ci_low": low, "ci_high": high,
        "se": fit.se, "n_comparisons": data.n_comparisons,
    })
    table.attrs["interval"] = described
    return table
