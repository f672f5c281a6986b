"""BT.500 screening and paper 000 Eq. 1 MOS."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from backend.errors import InputError
from backend.scaling import mos


def planted_panel(seed=0, n_items=120, n_good=25, shifted=False):
    """Good subjects rate the true quality with small noise and small personal offsets; two random
    raters and one inverted rater are planted (optionally a rater who is consistently 1.5 points high)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(1.2, 4.8, n_items)
    rows = []

    def add(subject, scores):
        rows.extend((subject, f"img{j:03d}", float(s)) for j, s in enumerate(scores))

    for k in range(n_good):
        offset = rng.choice([-0.3, 0.0, 0.3])
        add(f"good{k}", np.clip(np.rint(truth + offset + rng.normal(0, 0.35, n_items)), 1, 5))
    for k in range(2):
        add(f"random{k}", rng.integers(1, 6, n_items))
    add("inverted", np.clip(np.rint(6 - truth + rng.normal(0, 0.35, n_items)), 1, 5))
    if shifted:
        add("shifted", np.clip(np.rint(truth + 1.5 + rng.normal(0, 0.35, n_items)), 1, 5))
    return pd.DataFrame(rows, columns=["annotator", "item", "score"]), truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_bad_subjects_are_rejected_and_good_ones_kept(seed):
    ratings, truth = planted_panel(seed)
    result = mos.compute_mos(ratings)  # the paper's rule: > 5 % outlier ratings
    assert set(result.rejected) == {"random0", "random1", "inverted"}
    assert result.table.n_ratings.max() <= 25
    assert stats.spearmanr(result.table.mos, truth)[0] > 0.97
    assert result.n_outlier_ratings < 0.05 * 25 * 120


def test_bt500_pq_rule_spares_one_sided_raters_that_the_fraction_rule_rejects():
    ratings, _ = planted_panel(seed=4, shifted=True)
    fraction = mos.compute_mos(ratings, rule="fraction").rejected
    classical = mos.compute_mos(ratings, rule="bt500").rejected
    assert set(fraction) == {"random0", "random1", "inverted", "shifted"}
    assert set(classical) == {"random0", "random1", "inverted"}
    assert "bt500" in classical["inverted"]


def test_screening_improves_agreement_with_truth():
    ratings, truth = planted_panel(seed=1)
    screened = mos.compute_mos(ratings).table.mos
    unscreened = mos.compute_mos(ratings, screen=False).table.mos
    assert stats.pearsonr(screened, truth)[0] > stats.pearsonr(unscreened, truth)[0]


def test_kurtosis_switches_between_two_and_sqrt20_sd():
    normalish = pd.DataFrame({"x": [1, 2, 2, 3, 3, 3, 4, 4, 5]}, dtype=float)  # beta2 in [2, 4]
    peaked = pd.DataFrame({"x": [3, 3, 3, 3, 3, 3, 3, 3, 1, 5]}, dtype=float)  # beta2 = 5 > 4
    for frame, k in ((normalish, 2.0), (peaked, np.sqrt(20.0))):
        r = frame["x"].to_numpy()
        beta2 = np.mean((r - r.mean()) ** 4) / np.mean((r - r.mean()) ** 2) ** 2
        assert (2 <= beta2 <= 4) == (k == 2.0)
        low, high = mos.outlier_bounds(frame)
        assert high["x"] == pytest.approx(r.mean() + k * r.std(ddof=1))
        assert low["x"] == pytest.approx(r.mean() - k * r.std(ddof=1))


def test_equation_1_against_hand_computed_values():
    ratings = pd.DataFrame({
        "annotator": ["A"] * 3 + ["B"] * 3,
        "item": ["p", "q", "r"] * 2,
        "score": [1, 3, 5, 2, 2, 5],
    })
    result = mos.compute_mos(ratings, screen=False)
    # A: mean 3, sd 2 -> z = -1, 0, 1.  B: mean 3, sd sqrt(3) -> z = -1/sqrt3, -1/sqrt3, 2/sqrt3.
    s3 = np.sqrt(3.0)
    z = np.array([(-1 - 1 / s3) / 2, (0 - 1 / s3) / 2, (1 + 2 / s3) / 2])
    np.testing.assert_allclose(result.table.mos, 100 * (z + 3) / 6)
    # t-interval over the two subjects' rescaled values for item p
    values = 100 * (np.array([-1, -1 / s3]) + 3) / 6
    half = stats.t.ppf(0.975, 1) * values.std(ddof=1) / np.sqrt(2)
    assert result.table.ci_low[0] == pytest.approx(values.mean() - half)
    assert result.table.ci_high[0] == pytest.approx(values.mean() + half)
    assert list(result.table.n_ratings) == [2, 2, 2]
    assert result.table.mos.dtype == np.float64


def test_outlier_ratings_of_kept_subjects_are_removed_before_z_scores():
    """BT.500 removes a kept subject's outlier ratings too (Eq. 1 uses "the remaining valid ratings"):
    recomputed here by hand from the screening flags, and different from keeping those ratings."""
    ratings, _ = planted_panel(seed=3)
    matrix = mos.ratings_matrix(ratings)
    screening = mos.screen_subjects(matrix)
    kept = ~matrix.index.isin(list(screening.rejected))
    flagged_kept = screening.outliers.loc[kept]
    assert flagged_kept.to_numpy().sum() > 0, "the panel must have kept subjects with outlier ratings"

    def eq1(values: pd.DataFrame) -> pd.Series:
        z = values.sub(values.mean(axis=1), axis=0).div(values.std(axis=1, ddof=1), axis=0)
        return 100 * (z.mean(axis=0) + 3) / 6

    expected = eq1(matrix.loc[kept].where(~flagged_kept))
    keeping_outliers = eq1(matrix.loc[kept])
    result = mos.compute_mos(ratings).table.set_index("item")["mos"]
    np.testing.assert_allclose(result.loc[expected.index], expected, rtol=1e-12)
    assert np.abs(keeping_outliers - expected).max() > 0.1
    assert mos.compute_mos(ratings).n_outlier_ratings == int(flagged_kept.to_numpy().sum())


def test_nan_scores_dropped_and_constant_subject_excluded():
    ratings = pd.DataFrame({
        "annotator": ["A", "A", "A", "B", "B", "B", "C", "C"],
        "item": ["p", "q", "r", "p", "q", "r", "p", "q"],
        "score": [1, 3, 5, 2, np.nan, 4, 3, 3],
    })
    result = mos.compute_mos(ratings, screen=False)
    assert "C" in result.rejected
    assert list(result.table.n_ratings) == [2, 1, 2]
    assert np.isnan(result.table.ci_low[1]) and np.isfinite(result.table.mos[1])


@pytest.mark.parametrize("bad", [
    pd.DataFrame({"annotator": ["A"], "item": ["p"]}),
    pd.DataFrame({"annotator": ["A"], "item": ["p"], "score": ["good"]}),
    pd.DataFrame({"annotator": ["A"], "item": ["p"], "score": [np.nan]}),
])
def test_bad_ratings_raise_input_error(bad):
    with pytest.raises(InputError):
        mos.compute_mos(bad)


def test_unknown_rule_raises_input_error():
    ratings, _ = planted_panel()
    with pytest.raises(InputError):
        mos.compute_mos(ratings, rule="strict")
