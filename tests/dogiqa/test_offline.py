"""The offline standard-guided scorer: a registry NR model mapped onto 1..K by reference quantiles."""

import json

import numpy as np
import pytest

from backend.data.photos import skimage_photos
from backend.errors import InputError, ModelUnavailableError
from backend.iqa.dogiqa.offline import (
    CALIBRATION_FILE,
    QuantileScorer,
    level_position,
    levels_from_position,
    read_calibration,
)

PROBABILITIES = np.linspace(0, 1, 101)


def test_quantile_mapping_levels_and_weighted_score():
    quantiles = np.linspace(10.0, 20.0, 101)  # uniform reference values on [10, 20]
    position = level_position(np.array([5.0, 10.0, 12.5, 15.0, 19.99, 25.0]), quantiles, PROBABILITIES)
    np.testing.assert_allclose(position, [0.0, 0.0, 0.25, 0.5, 0.999, 1.0])
    levels, weighted = levels_from_position(position, 7)
    assert levels.tolist() == [1, 1, 2, 4, 7, 7]
    np.testing.assert_allclose(weighted, 1 + 6 * position)
    levels, _ = levels_from_position(np.array([0.0, 1 / 3, 0.66, 1.0]), 3)
    assert levels.tolist() == [1, 2, 2, 3]


def test_point_masses_in_the_reference_do_not_break_the_mapping():
    quantiles = np.r_[np.zeros(50), np.linspace(0, 1, 51)]
    position = level_position(np.array([-1.0, 0.0, 0.5, 2.0]), quantiles, PROBABILITIES)
    assert position[0] == 0 and position[-1] == 1 and 0 < position[1] < position[2] < 1


def make_calibration(path, scorer, values):
    path.write_text(json.dumps({"probabilities": PROBABILITIES.tolist(),
                                "scorers": {scorer: {"quantiles": np.quantile(values, PROBABILITIES).tolist()}},
                                "segmenters": {"regions": {"c_max": 9, "images": 3}}}))
    return path


def test_quantile_scorer_orients_lower_better_models(tmp_path):
    from backend import registry

    photos = list(skimage_photos(128).values())
    raw = np.array([registry.create("piqe").score(p).score for p in photos])
    calibration = make_calibration(tmp_path / "cal.json", "piqe", -raw)  # oriented: higher = better
    scorer = QuantileScorer("piqe", k=5, calibration=calibration)
    results = scorer.levels(photos, readout="weighted")
    assert [r.raw for r in results] == pytest.approx(raw.tolist())
    best, worst = int(np.argmin(raw)), int(np.argmax(raw))  # piqe: lower is better
    assert results[best].weighted == pytest.approx(5.0) and results[best].level == 5
    assert results[worst].weighted == pytest.approx(1.0) and results[worst].level == 1
    with pytest.raises(InputError, match="argmax"):
        scorer.levels(photos, readout="generated")


def test_scorer_errors(tmp_path):
    calibration = make_calibration(tmp_path / "cal.json", "piqe", [1.0, 2.0])
    with pytest.raises(ModelUnavailableError, match="dogiqa-calibrate --scorer entropy"):
        QuantileScorer("entropy", calibration=calibration)
    with pytest.raises(InputError, match="no-reference model"):
        QuantileScorer("psnr", calibration=calibration)
    with pytest.raises(InputError, match="no-reference model"):
        QuantileScorer("dogiqa", calibration=calibration)
    with pytest.raises(ModelUnavailableError, match="missing"):
        read_calibration(tmp_path / "absent.json")


def test_shipped_calibration_card():
    table = read_calibration()
    assert table["probabilities"][0] == 0 and table["probabilities"][-1] == 1 and len(table["probabilities"]) == 101
    assert {"compare2score", "piqe"} <= set(table["scorers"])
    for fit in table["scorers"].values():
        assert np.all(np.diff(fit["quantiles"]) >= 0) and fit["values"] > 500
        assert fit["data"]["split"] == "train" and fit["data"]["command"].startswith("python -m backend dogiqa-calibrate")
    regions = table["segmenters"]["regions"]
    assert regions["c_max"] >= regions["mean_masks"] >= 1
    assert CALIBRATION_FILE.stat().st_size < 200_000


def test_an_input_the_model_refuses_scores_1_like_a_non_numeric_answer():
    photo = skimage_photos(128)["coffee"]
    flat = np.full((96, 96, 3), 128, dtype=np.uint8)  # compare2score's statistics are undefined on it
    scorer = QuantileScorer("compare2score", k=7)
    good, refused = scorer.levels([photo, flat], readout="weighted")
    assert good.raw is not None and "unscored" not in good.extra
    assert refused.level == 1 and refused.weighted == 1.0 and refused.raw is None
    assert "comparator" in refused.extra["unscored"]
