"""Active selection of the next pair to compare, by expected information gain (ASAP-style).

Idea from Mikhailiuk et al. 2020, "Active Sampling for Pairwise Comparisons via Approximate Message
Passing and Information Gain Maximization" (ASAP): keep a Gaussian posterior over the scores and ask
for the pair whose outcome is expected to change the posterior most (expected KL divergence between
the posterior after and before the comparison). Choices made here:

* Posterior: the Thurstone Case V MAP of ``backend.scaling.pairwise`` (paper 001 Eq. 6, unit prior)
  with its Laplace approximation ``N(mu, Sigma)``, ``Sigma`` = inverse negative Hessian — instead of
  ASAP's message passing (TrueSkill factor graph).
* Effect of one more comparison of ``(i, j)``: one Newton step from the MAP with the new term
  ``log Phi(+-(q_i - q_j))`` — a rank-one precision update ``h e e^T`` (``e = e_i - e_j``) and a mean
  shift ``Sigma' e g``. The KL divergence then has a closed form that only needs the mean difference
  ``m = mu_i - mu_j`` and the variance of the difference ``s = e^T Sigma e``:

      KL = 1/2 [ log(1 + h s) - h s / (1 + h s) + g^2 s / (1 + h s)^2 ],

  with ``g = r(+-m)``, ``h = r(+-m) (r(+-m) +- m)``, ``r = phi / Phi``. The expectation weights the two
  outcomes with the predictive probability ``Phi(m / sqrt(1 + s))``. No refit per candidate, so scoring
  all pairs costs O(n^2) once the posterior is known.
* ``method="eig"``: full posterior, ``s = var_i + var_j - 2 cov_ij`` (one n x n inverse per call).
* ``method="eig-approx"``: marginals only, ``s = var_i + var_j`` with ``var_i = 1 / H_ii`` (no inverse,
  no correlations; the ASAP-approx idea of looking at the two compared items only). Both methods fit
  the MAP once per call (the Newton solve of ``pairwise``); the approximation saves the n x n inverse
  and the O(n^2) covariance update between batch picks. Measured on simulated observers
  (``benchmarks/scaling.py``) it needs somewhat more comparisons than ``eig``, still far fewer than
  uniform sampling.
* ``method="uniform"``: every allowed pair equally likely.
* Ties (equal scores) are broken at random; the returned order ``(left, right)`` is random as well
  (both orientations are candidates), which also randomises the on-screen position.
* ``select_pairs`` picks several pairs from one posterior (several annotators at once): after each pick
  the posterior variance is updated with the expected curvature of that comparison (means unchanged),
  so the next pick prefers other parts of the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from backend.errors import InputError
from backend.scaling import pairwise

METHODS = ("eig", "eig-approx", "uniform")


@dataclass
class Posterior:
    """Laplace posterior: means and either the full covariance or only the marginal variances."""

    mean: np.ndarray
    covariance: np.ndarray | None
    variance: np.ndarray

    def difference_variance(self) -> np.ndarray:
        """``s[i, j]`` = variance of ``q_i - q_j`` (without covariances when only marginals are kept)."""
        s = self.variance[:, None] + self.variance[None, :]
        if self.covariance is not None:
            s = s - 2.0 * self.covariance
        return np.maximum(s, 0.0)


def posterior(counts: np.ndarray, full: bool = True, prior_strength: float = 1.0) -> Posterior:
    """Thurstone MAP means with the Laplace covariance (``full``) or the Hessian-diagonal variances."""
    fit = pairwise.fit_pairwise(counts, "thurstone", prior_strength, standard_errors=False)
    if full:
        covariance = np.linalg.inv(fit.precision)
        return Posterior(fit.scores, covariance, np.diag(covariance).copy())
    return Posterior(fit.scores, None, 1.0 / np.diag(fit.precision))


def _outcome_terms(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and curvature of the new log-likelihood term for the outcome "first wins" at gap m."""
    r = pairwise.inverse_mills_ratio(m)
    return r, r * (r + m)


def _kl_after_update(g: np.ndarray, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    hs = h * s
    return 0.5 * (np.log1p(hs) - hs / (1.0 + hs) + g * g * s / (1.0 + hs) ** 2)


def expected_information_gain(mean_difference: np.ndarray, difference_variance: np.ndarray) -> np.ndarray:
    """Expected KL(posterior after || before) of one comparison, from ``m = mu_i - mu_j`` and ``s``."""
    m = np.asarray(mean_difference, dtype=np.float64)
    s = np.asarray(difference_variance, dtype=np.float64)
    p_first = special.ndtr(m / np.sqrt(1.0 + s))
    g_first, h_first = _outcome_terms(m)
    g_second, h_second = _outcome_terms(-m)
    return p_first * _kl_after_update(g_first, h_first, s) + (1 - p_first) * _kl_after_update(
        g_second, h_second, s)


def _expected_curvature(m: float, s: float) -> float:
    p_first = special.ndtr(m / np.sqrt(1.0 + s))
    return float(p_first * _outcome_terms(np.array(m))[1] + (1 - p_first) * _outcome_terms(np.array(-m))[1])


def pair_scores(post: Posterior) -> np.ndarray:
    """Expected information gain of every pair (symmetric n x n, zero diagonal)."""
    gain = expected_information_gain(post.mean[:, None] - post.mean[None, :], post.difference_variance())
    np.fill_diagonal(gain, 0.0)
    return gain


def _condition_on_pair(post: Posterior, i: int, j: int) -> Posterior:
    """Variance after one more expected comparison of (i, j): rank-one update, means unchanged."""
    s = post.difference_variance()[i, j]
    h = _expected_curvature(post.mean[i] - post.mean[j], s)
    if post.covariance is None:
        variance = post.variance.copy()
        variance[[i, j]] = 1.0 / (1.0 / variance[[i, j]] + h)
        return Posterior(post.mean, None, variance)
    column = post.covariance[:, i] - post.covariance[:, j]
    covariance = post.covariance - h * np.outer(column, column) / (1.0 + h * s)
    return Posterior(post.mean, covariance, np.diag(covariance).copy())


def _candidate_mask(n: int, allowed: np.ndarray | None) -> np.ndarray:
    mask = ~np.eye(n, dtype=bool)
    if allowed is not None:
        allowed = np.asarray(allowed)
        if allowed.shape != (n, n) or allowed.dtype != bool:
            raise InputError(f"The allowed mask must be a boolean {n} x {n} matrix; got {allowed.dtype} {allowed.shape}.")
        mask &= allowed
    if not mask.any():
        raise InputError("No pair of different items is allowed; allow at least one pair.")
    return mask


def _pick_best(score: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """Uniformly random among the allowed ordered pairs with the highest score."""
    values = np.where(mask, score, -np.inf)
    best = values.max()
    ties = np.flatnonzero(values >= best - 1e-12 * max(abs(best), 1e-300))
    i, j = divmod(int(rng.choice(ties)), score.shape[0])
    return i, j


def select_pairs(
    counts: np.ndarray,
    rng: np.random.Generator,
    n_pairs: int = 1,
    method: str = "eig",
    allowed: np.ndarray | None = None,
    prior_strength: float = 1.0,
) -> list[tuple[int, int]]:
    """``n_pairs`` pairs ``(left, right)`` to show next (one posterior, updated between picks)."""
    if method not in METHODS:
        raise InputError(f"Unknown pair-selection method {method!r}; use one of {', '.join(METHODS)}.")
    if not isinstance(rng, np.random.Generator):
        raise InputError("rng must be a numpy Generator, e.g. numpy.random.default_rng(seed).")
    counts = pairwise.validate_counts(counts, batched=False)
    n = counts.shape[0]
    if n < 2:
        raise InputError("Pair selection needs at least two items.")
    mask = _candidate_mask(n, allowed)
    if method == "uniform":
        return [_pick_best(np.zeros((n, n)), mask, rng) for _ in range(n_pairs)]
    post = posterior(counts, full=(method == "eig"), prior_strength=prior_strength)
    pairs = []
    for _ in range(n_pairs):
        i, j = _pick_best(pair_scores(post), mask, rng)
        pairs.append((i, j))
        post = _condition_on_pair(post, i, j)
    return pairs


def select_pair(
    counts: np.ndarray,
    rng: np.random.Generator,
    method: str = "eig",
    allowed: np.ndarray | None = None,
    prior_strength: float = 1.0,
) -> tuple[int, int]:
    """The next pair ``(left, right)`` to compare; ``counts`` = wins matrix, ties as halves."""
    return select_pairs(counts, rng, 1, method, allowed, prior_strength)[0]
