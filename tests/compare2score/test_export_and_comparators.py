"""Training-data export (Eq. 2 conversations), comparator lookup errors, the Thurstone NR comparator."""

import json

import numpy as np
import pytest
from PIL import Image

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.compare2score.export import HUMAN_PROMPT, export_training_pairs
from backend.iqa.compare2score.levels import LEVELS, level_index, soft_preference
from backend.iqa.compare2score.service import get_comparator
from backend.iqa.compare2score.thurstone_nr import ThurstoneComparator, fit_from_scores, level_probabilities


@pytest.fixture
def scored_csv(tmp_path):
    rows = ["path,mos,mos_std,split"]
    for k, (mos, std) in enumerate([(1.0, 0.3), (2.0, 0.2), (3.0, 0.5), (4.5, 0.3), (5.0, 0.1)]):
        (tmp_path / "images").mkdir(exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 40 * k, np.uint8)).save(tmp_path / "images" / f"i{k}.png")
        rows.append(f"images/i{k}.png,{mos},{std},{'train' if k < 4 else 'test'}")
    path = tmp_path / "scores.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_export_writes_llava_style_conversations(scored_csv, tmp_path):
    out = tmp_path / "pairs.json"
    summary = export_training_pairs(scored_csv, out, pairs=50, seed=3, image_root=tmp_path)
    records = json.loads(out.read_text())
    assert len(records) == 50 and sum(summary["levels"].values()) == 50
    mos = {f"images/i{k}.png": m for k, m in enumerate([1.0, 2.0, 3.0, 4.5, 5.0])}
    std = {f"images/i{k}.png": s for k, s in enumerate([0.3, 0.2, 0.5, 0.3, 0.1])}
    for record in records:
        first, second = record["image"]
        assert first != second and first in mos and second in mos
        human, gpt = record["conversations"]
        assert human == {"from": "human", "value": HUMAN_PROMPT} and human["value"].count("<|image|>") == 2
        level = LEVELS[int(level_index(mos[first], mos[second], std[first], std[second]))]
        assert record["level"] == level and gpt["from"] == "gpt" and f" {level} " in gpt["value"]
    again = tmp_path / "again.json"
    export_training_pairs(scored_csv, again, pairs=50, seed=3, image_root=tmp_path)
    assert again.read_text() == out.read_text()
    export_training_pairs(scored_csv, tmp_path / "train.json", pairs=10, split="train")
    assert all("i4.png" not in " ".join(r["image"]) for r in json.loads((tmp_path / "train.json").read_text()))
    with pytest.raises(InputError):
        export_training_pairs(scored_csv, out, pairs=0)


def test_comparator_lookup_errors():
    with pytest.raises(InputError, match="Unknown comparator 'nonexistent'"):
        get_comparator("nonexistent")
    with pytest.raises(InputError, match="nr-thurstone:piqe"):
        get_comparator("piqe")
    with pytest.raises(InputError, match="No comparator"):
        get_comparator("")
    with pytest.raises(ModelUnavailableError, match="compare2score-fit-nr"):
        ThurstoneComparator("entropy", fits_file="/nonexistent/fits.json")
    with pytest.raises(InputError, match="no-reference"):
        ThurstoneComparator("psnr")


def test_thurstone_levels_follow_eq2_intervals():
    # mean difference (first - second) of 0 -> symmetric, "similar" most probable; large positive -> inferior
    p = level_probabilities(np.array([0.0, 3.0, -3.0]), difference_sd=0.2, significance=0.5)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[0], p[0][::-1])
    assert p[0].argmax() == 2 and p[1].argmax() == 0 and p[2].argmax() == 4
    assert soft_preference(p[1]) < 0.01 and soft_preference(p[2]) > 0.99


def test_thurstone_comparator_from_a_fit():
    fit = fit_from_scores(np.array([10.0, 20.0, 30.0, 40.0]), np.array([4.0, 3.1, 1.9, 1.0]), np.array([0.3] * 4))
    assert fit["slope"] < 0 and fit["srcc"] == pytest.approx(-1.0)  # a lower-is-better metric
    comparator = ThurstoneComparator("piqe", fit=fit)
    probabilities = comparator.probabilities_from_scores(np.array([40.0]), np.array([10.0]))
    assert probabilities[0].argmax() == 4  # the second image has the lower (better) piqe: superior
    with pytest.raises(InputError):
        fit_from_scores(np.ones(4), np.arange(4.0), np.ones(4))
