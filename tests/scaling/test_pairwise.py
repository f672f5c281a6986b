"""Thurstone MAP / Bradley–Terry scaling against scipy, choix and crowd-kit; SEs, batch, bootstrap."""

import choix
import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import BradleyTerry
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import optimize, stats

from backend.errors import InputError
from backend.scaling import pairwise as pw


def random_counts(rng, n, density=0.6, max_count=6):
    counts = rng.integers(0, max_count, size=(n, n)).astype(float)
    counts *= rng.random((n, n)) < density
    np.fill_diagonal(counts, 0)
    return counts


def unanimous_counts():
    counts = np.zeros((4, 4))
    counts[0, 1] = counts[1, 2] = counts[2, 3] = 5  # a chain where every pair is unanimous
    return counts


def disconnected_counts():
    counts = np.zeros((5, 5))
    counts[0, 1], counts[1, 0] = 3, 1  # component {0, 1}
    counts[2, 3], counts[3, 4], counts[4, 2] = 2, 2, 1  # component {2, 3, 4}
    return counts


def scipy_optimum(counts, model="thurstone", prior=1.0):
    def negative(q):
        return -pw.objective(counts, q, model, prior)

    def negative_gradient(q):
        return -pw.gradient(counts, q, model, prior)

    result = optimize.minimize(negative, np.zeros(len(counts)), jac=negative_gradient, method="BFGS",
                               options={"gtol": 1e-11, "maxiter": 10000})
    return result


def simulate_comparisons(rng, true_scores, n_comparisons, model="bt"):
    n = len(true_scores)
    first = rng.integers(0, n, n_comparisons)
    second = (first + rng.integers(1, n, n_comparisons)) % n
    d = true_scores[first] - true_scores[second]
    p = stats.norm.cdf(d) if model == "thurstone" else 1 / (1 + np.exp(-d))
    first_wins = rng.random(n_comparisons) < p
    return np.where(first_wins, first, second), np.where(first_wins, second, first)


def counts_from(winners, losers, n):
    counts = np.zeros((n, n))
    np.add.at(counts, (winners, losers), 1)
    return counts


@pytest.mark.parametrize("model", ["thurstone", "bt"])
@pytest.mark.parametrize("case", range(6))
def test_map_matches_scipy_on_random_unanimous_and_disconnected(model, case):
    rng = np.random.default_rng(case)
    problems = [random_counts(rng, 7), random_counts(rng, 12, 0.3), rng.random((6, 6)),
                unanimous_counts(), disconnected_counts(), random_counts(rng, 4, 1.0, 2)]
    counts = problems[case]
    prior = 1.0 if model == "thurstone" else 0.3
    fit = pw.fit_pairwise(counts, model, prior)
    reference = scipy_optimum(counts, model, prior)
    assert fit.converged
    assert np.all(np.isfinite(fit.scores))
    np.testing.assert_allclose(fit.scores, reference.x, atol=1e-6)
    assert abs(fit.scores.sum()) < 1e-10
    assert pw.objective(counts, fit.scores, model, prior) >= -reference.fun - 1e-9


def test_unanimous_and_disconnected_are_finite_and_centred_per_component():
    fit = pw.thurstone_map(unanimous_counts())
    assert np.all(np.diff(fit.scores) < 0)  # 0 beat 1 beat 2 beat 3
    assert np.all(np.abs(fit.scores) < 5)
    fit = pw.thurstone_map(disconnected_counts())
    # each component is pinned by the prior alone, so each is centred on its own
    assert abs(fit.scores[:2].sum()) < 1e-9 and abs(fit.scores[2:].sum()) < 1e-9


def test_first_order_conditions_and_hand_built_3x3_reference():
    """Replaces the public code's Adam run: the optimum satisfies grad = 0 and matches scipy at high precision."""
    counts = np.array([[0.5, 0.8, 0.9], [0.2, 0.5, 0.7], [0.1, 0.3, 0.5]])
    fit = pw.thurstone_map(counts)
    assert np.max(np.abs(pw.gradient(counts, fit.scores))) < 1e-10

    def negative(q):  # written out independently of the module: Eq. 6 with the q^2/2 prior
        value = sum(counts[i, j] * stats.norm.logcdf(q[i] - q[j]) for i in range(3) for j in range(3) if i != j)
        return -(value - 0.5 * np.sum(q**2))

    reference = optimize.minimize(negative, np.zeros(3), method="Nelder-Mead",
                                  options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 20000})
    np.testing.assert_allclose(fit.scores, reference.x, atol=1e-7)
    assert fit.scores[0] > fit.scores[1] > fit.scores[2]


def test_bradley_terry_matches_choix_and_crowdkit():
    rng = np.random.default_rng(3)
    n = 30
    truth = rng.normal(0, 1, n)
    winners, losers = simulate_comparisons(rng, truth, 3000, "bt")
    counts = counts_from(winners, losers, n)
    ours = pw.bradley_terry(counts).scores
    data = list(zip(winners.tolist(), losers.tolist(), strict=True))
    for reference in (choix.ilsr_pairwise(n, data, tol=1e-12), choix.opt_pairwise(n, data, alpha=1e-6, tol=1e-10)):
        reference = reference - reference.mean()  # choix: log-strengths, same logistic scale
        np.testing.assert_allclose(ours, reference, atol=1e-3)
    frame = pd.DataFrame({"worker": 0, "left": winners, "right": losers, "label": winners})
    # crowd-kit 1.4.2 aliases p_old to p_new, so its tol test stops after two MM steps; tol < 0 makes it
    # run all n_iter steps (MM converges linearly, hence the many iterations).
    strengths = BradleyTerry(n_iter=3000, tol=-1.0).fit_predict(frame).sort_index().to_numpy()
    crowd = np.log(strengths) - np.log(strengths).mean()  # crowd-kit: p_i with P(i>j) = p_i/(p_i+p_j)
    np.testing.assert_allclose(ours, crowd, atol=1e-3)


@pytest.mark.parametrize("model", ["thurstone", "bt"])
def test_recovers_simulated_true_scores(model):
    rng = np.random.default_rng(11)
    truth = rng.normal(0, 1.5, 60)
    winners, losers = simulate_comparisons(rng, truth, 6000, model)
    fit = pw.fit_pairwise(counts_from(winners, losers, 60), model)
    assert stats.spearmanr(fit.scores, truth)[0] > 0.95
    # roughly the right scale (Thurstone MAP shrinks a little towards 0)
    slope = np.polyfit(truth - truth.mean(), fit.scores, 1)[0]
    assert 0.8 < slope < 1.1


def test_batch_equals_per_problem():
    rng = np.random.default_rng(5)
    batch = np.stack([rng.random((6, 6)) for _ in range(40)] + [np.zeros((6, 6))])
    batch[3] = 0
    batch[3, 5, :5] = 1.0  # a test image that beats every anchor with certainty
    scores, info = pw.thurstone_map_batch(batch)
    assert scores.shape == (41, 6) and info["converged"].all()
    assert np.all(info["iterations"] < 20)
    for b in range(len(batch)):
        single = pw.thurstone_map(batch[b])
        np.testing.assert_allclose(scores[b], single.scores, atol=1e-9)
        np.testing.assert_allclose(info["se"][b], single.se, atol=1e-9)
    np.testing.assert_allclose(scores[-1], 0.0)


def test_standard_errors_match_numerical_inverse_hessian():
    rng = np.random.default_rng(8)
    counts = random_counts(rng, 6, 0.8)
    fit = pw.thurstone_map(counts)
    # finite-difference Hessian of the objective at the optimum
    step, n = 1e-4, len(counts)
    hessian = np.zeros((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = step
        hessian[:, k] = (pw.gradient(counts, fit.scores + e) - pw.gradient(counts, fit.scores - e)) / (2 * step)
    covariance = np.linalg.inv(-hessian)
    projector = np.eye(n) - 1 / n
    np.testing.assert_allclose(fit.covariance, projector @ covariance @ projector, atol=1e-6)
    np.testing.assert_allclose(fit.se, np.sqrt(np.diag(projector @ covariance @ projector)), atol=1e-6)


def test_standard_errors_with_tiny_ridge_equal_pseudo_inverse():
    rng = np.random.default_rng(9)
    counts = random_counts(rng, 8, 0.9) + 1
    np.fill_diagonal(counts, 0)
    fit = pw.bradley_terry(counts)
    laplacian = fit.precision - fit.prior_strength * np.eye(8)
    np.testing.assert_allclose(fit.covariance, np.linalg.pinv(laplacian), rtol=1e-4, atol=1e-8)


def make_votes(rng, n_items=8, n_annotators=12, per_annotator=30):
    truth = np.linspace(-1.5, 1.5, n_items)
    rows = []
    for annotator in range(n_annotators):
        for _ in range(per_annotator):
            left, right = rng.choice(n_items, 2, replace=False)
            p = stats.norm.cdf(truth[left] - truth[right])
            u = rng.random()
            choice = "tie" if abs(u - p) < 0.05 else ("left" if u < p else "right")
            rows.append((f"a{annotator}", f"img{left}", f"img{right}", choice))
    return pd.DataFrame(rows, columns=["annotator", "left", "right", "choice"])


def test_count_votes_ties_are_half_wins_and_nan_rows_dropped():
    votes = pd.DataFrame({
        "annotator": ["a", "a", "b", "b", "c"],
        "left": ["x", "x", "y", "x", "x"],
        "right": ["y", "y", "x", "y", None],
        "choice": ["left", " Tie", "right", np.nan, "left"],
    })
    data = pw.count_votes(votes)
    assert list(data.items) == ["x", "y"]
    np.testing.assert_allclose(data.counts, [[0, 2.5], [0.5, 0]])
    np.testing.assert_allclose(data.n_comparisons, [3, 3])


@pytest.mark.parametrize("bad", [
    {"annotator": ["a"], "left": ["x"], "right": ["y"], "choice": ["maybe"]},
    {"annotator": ["a"], "left": ["x"], "right": ["x"], "choice": ["left"]},
    {"annotator": ["a"], "left": ["x"], "choice": ["left"]},
])
def test_bad_votes_raise_input_error(bad):
    with pytest.raises(InputError):
        pw.count_votes(bad)


@pytest.mark.parametrize("counts", [np.ones((3, 4)), -np.ones((3, 3)), np.full((3, 3), np.nan), np.zeros((0, 0))])
def test_bad_counts_raise_input_error(counts):
    with pytest.raises(InputError):
        pw.thurstone_map(counts)


def test_bad_options_raise_input_error():
    with pytest.raises(InputError):
        pw.fit_pairwise(np.ones((3, 3)), model="elo")
    with pytest.raises(InputError):
        pw.thurstone_map(np.ones((3, 3)), prior_strength=0)
    with pytest.raises(InputError):
        pw.thurstone_map_batch(np.ones((3, 3)))


def test_bootstrap_reproducible_nan_safe_and_covers_estimate():
    rng = np.random.default_rng(2)
    votes = make_votes(rng)
    # an item that only one annotator ever compared: absent from many resamples
    votes.loc[len(votes)] = ["a0", "rare", "img0", "left"]
    calls = []
    first = pw.bootstrap_scores(votes, n_rounds=60, seed=4, progress=lambda done, total: calls.append(done))
    second = pw.bootstrap_scores(votes, n_rounds=60, seed=4)
    np.testing.assert_array_equal(first.samples, second.samples)
    assert calls == list(range(1, 61))
    rare = list(pw.count_votes(votes).items).index("rare")
    assert np.isnan(first.samples[:, rare]).any() and np.isfinite(first.samples[:, rare]).any()
    assert np.all(np.isfinite(first.ci_low)) and np.all(first.ci_low <= first.ci_high)
    table = pw.scale_votes(votes, n_bootstrap=60, seed=4)
    inside = (table.ci_low <= table.score + 1e-9) & (table.score <= table.ci_high + 1e-9)
    assert inside.mean() > 0.8
    different = pw.bootstrap_scores(votes, n_rounds=60, seed=5)
    assert not np.array_equal(first.samples, different.samples)


def test_bootstrap_needs_annotators():
    with pytest.raises(InputError):
        pw.bootstrap_scores({"left": ["x"], "right": ["y"], "choice": ["left"]}, n_rounds=5)


def test_scale_votes_table_and_laplace_interval():
    votes = make_votes(np.random.default_rng(6))
    table = pw.scale_votes(votes, model="bt")
    assert list(table.columns) == ["item", "score", "ci_low", "ci_high", "se", "n_comparisons"]
    assert table.score.dtype == np.float64
    np.testing.assert_allclose(table.ci_high - table.score, 1.959964 * table.se, rtol=1e-5)
    assert stats.spearmanr(table.score, np.arange(8))[0] > 0.9
    assert table.n_comparisons.sum() == 2 * 12 * 30


@settings(max_examples=40, deadline=None, derandomize=True)
@given(arrays(np.float64, (5, 5), elements=st.sampled_from([0.0, 0.0, 0.5, 1.0, 3.0, 20.0])),
       st.sampled_from(["thurstone", "bt"]), st.sampled_from([0.05, 1.0, 4.0]))
def test_property_optimum_is_stationary_centred_and_finite(counts, model, prior):
    fit = pw.fit_pairwise(counts, model, prior)
    assert fit.converged and np.all(np.isfinite(fit.scores)) and np.all(np.isfinite(fit.se))
    assert abs(fit.scores.sum()) < 1e-9
    assert np.max(np.abs(pw.gradient(counts, fit.scores, model, prior))) < 1e-6
    batch, _ = pw.thurstone_map_batch(counts[None], prior, model=model)
    np.testing.assert_allclose(batch[0], fit.scores, atol=1e-8)
