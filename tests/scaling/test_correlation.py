"""SRCC / KRCC / PLCC against scipy, logistic mapping, sign handling, bootstrap."""

import numpy as np
import pytest
from scipy import optimize, stats

from backend.errors import InputError
from backend.scaling import correlation as corr


def sample(seed=0, n=80):
    rng = np.random.default_rng(seed)
    mos = rng.uniform(0, 100, n)
    prediction = 1 / (1 + np.exp(-(mos - 50) / 12)) + rng.normal(0, 0.05, n)  # monotone, non-linear
    return prediction, mos


def test_rank_correlations_equal_scipy():
    prediction, mos = sample()
    assert corr.srcc(prediction, mos) == pytest.approx(stats.spearmanr(prediction, mos)[0], abs=1e-12)
    assert corr.krcc(prediction, mos) == pytest.approx(stats.kendalltau(prediction, mos)[0], abs=1e-12)


def test_plcc_equals_pearson_after_the_same_logistic_fit_by_scipy():
    prediction, mos = sample(1)

    def vqeg(x, b1, b2, b3, b4):
        return (b1 - b2) / (1 + np.exp(-(x - b3) / abs(b4))) + b2

    params, _ = optimize.curve_fit(vqeg, prediction, mos, p0=[mos.max(), mos.min(), np.median(prediction),
                                                             prediction.std()], maxfev=10000)
    expected = stats.pearsonr(vqeg(prediction, *params), mos)[0]
    assert corr.plcc(prediction, mos) == pytest.approx(expected, abs=1e-6)
    # the logistic mapping straightens the non-linear relation
    assert corr.plcc(prediction, mos) > corr.plcc(prediction, mos, logistic=False)
    assert corr.plcc(prediction, mos, logistic=False) == pytest.approx(stats.pearsonr(prediction, mos)[0])


def test_lower_better_flips_sign_and_nan_pairs_are_dropped():
    prediction, mos = sample(2)
    distortion = -3 * prediction + 1
    assert corr.srcc(distortion, mos) < 0
    assert corr.srcc(distortion, mos, lower_better=True) == pytest.approx(corr.srcc(prediction, mos))
    assert corr.plcc(distortion, mos, lower_better=True) == pytest.approx(corr.plcc(prediction, mos), abs=1e-6)
    with_nan = prediction.copy()
    with_nan[:5] = np.nan
    mos_nan = mos.copy()
    mos_nan[-3:] = np.nan
    result = corr.correlations(with_nan, mos_nan)
    assert result["n"] == 72
    assert result["srcc"] == pytest.approx(stats.spearmanr(prediction[5:-3], mos[5:-3])[0])


def test_logistic_fit_falls_back_to_linear_when_impossible():
    x = np.array([0.0, 0.0, 0.0, 1.0])  # almost no spread in predictions
    y = np.array([10.0, 20.0, 30.0, 40.0])
    result = corr.correlations(x, y)
    assert result["plcc_mapping"] in ("logistic", "linear")
    assert np.isfinite(result["plcc"])
    constant = corr.correlations(np.ones(5), np.arange(5.0))
    assert np.isnan(constant["srcc"]) and np.isnan(constant["plcc"]) and constant["plcc_mapping"] == "none"


def test_bootstrap_is_reproducible_and_brackets_the_estimate():
    prediction, mos = sample(3, 50)
    first = corr.bootstrap_correlations(prediction, mos, n_rounds=100, seed=1)
    second = corr.bootstrap_correlations(prediction, mos, n_rounds=100, seed=1)
    assert first == second
    for metric in corr.METRICS:
        value, low, high = first[metric]
        assert low <= value <= high and high - low < 0.3
    other = corr.bootstrap_correlations(prediction, mos, n_rounds=100, seed=2)
    assert other != first


def test_bootstrap_is_nan_safe_with_degenerate_resamples():
    prediction = np.array([1.0, 2.0, 3.0, np.nan, 4.0])
    mos = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    result = corr.bootstrap_correlations(prediction, mos, n_rounds=300, seed=0)
    assert all(np.isfinite(result[metric][1]) for metric in corr.METRICS)


@pytest.mark.parametrize("args", [([1, 2, 3], [1, 2]), ([1, 2, np.nan], [1, 2, 3])])
def test_bad_inputs_raise_input_error(args):
    with pytest.raises(InputError):
        corr.correlations(*args)


@pytest.mark.parametrize("n", [3, 4])
def test_too_few_items_for_the_logistic_give_linear_plcc(n):
    """3 or 4 items cannot fit 4 logistic parameters (curve_fit raised TypeError on 3): PLCC is linear."""
    prediction, mos = np.array([0.1, 0.4, 0.35, 0.9])[:n], np.array([10.0, 30.0, 50.0, 80.0])[:n]
    result = corr.correlations(prediction, mos)
    assert result["plcc_mapping"] == "linear" and result["n"] == n
    assert result["plcc"] == pytest.approx(stats.pearsonr(prediction, mos)[0], abs=1e-12)
    low_high = corr.bootstrap_correlations(prediction, mos, n_rounds=50)["plcc"]
    assert low_high[0] == pytest.approx(result["plcc"])
