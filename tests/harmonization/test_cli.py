"""``python -m backend harmonize`` and ``python -m backend harmonization eval`` (in-process through main)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from backend.cli import main
from tests.conftest import sample_photo


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A three-image data set in the iHarmony4 layout, one per foreground-ratio bucket."""
    root = tmp_path_factory.mktemp("hdata")
    for folder in ("composite", "mask", "real"):
        (root / folder).mkdir()
    real = sample_photo("coffee")[::4, ::4].copy()
    for name, (height, width) in {"small": (15, 15), "medium": (30, 40), "large": (60, 90)}.items():
        mask = np.zeros(real.shape[:2], dtype=bool)
        mask[10:10 + height, 20:20 + width] = True
        composite = real.copy()
        composite[mask] = np.clip(composite[mask].astype(int) + [40, -20, 10], 0, 255).astype(np.uint8)
        Image.fromarray(composite).save(root / "composite" / f"{name}.png")
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / "mask" / f"{name}.png")
        Image.fromarray(real).save(root / "real" / f"{name}.png")
    return root


def test_eval_prints_the_table_by_bucket(data_dir, capsys):
    assert main(["harmonization", "eval", "--method", "composite", "--data", str(data_dir)]) == 0
    out = capsys.readouterr().out
    for label in ("all", "0-5%", "5-15%", "15-100%", "MSE", "fMSE", "PSNR", "fPSNR"):
        assert label in out


def test_eval_json_matches_metrics(data_dir, capsys):
    assert main(["harmonization", "eval", "--method", "composite", "--data", str(data_dir), "--json",
                 "--per-image"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "composite" and report["images"] == 3
    assert set(report["table"]) == {"all", "0-5%", "5-15%", "15-100%"}
    from backend.harmonization.metrics import harmonization_errors
    from backend.images import load_image, load_mask

    fmse = [row["fmse"] for row in report["per_image"]]
    for row in report["per_image"]:
        real = load_image(data_dir / "real" / f"{row['image']}.png")
        mask = load_mask(data_dir / "mask" / f"{row['image']}.png")
        expected = harmonization_errors(load_image(data_dir / "composite" / f"{row['image']}.png"), real, mask)
        assert row["fmse"] == pytest.approx(expected.fmse) and 400 < row["fmse"] <= (40**2 + 20**2 + 10**2) / 3
    assert report["table"]["all"]["fmse"] == pytest.approx(np.mean(fmse))


def test_harmonize_writes_an_image(data_dir, tmp_path, capsys):
    out, similarity = tmp_path / "out.png", tmp_path / "sim.png"
    code = main(["harmonize", "--method", "semantic-routing", "--composite", str(data_dir / "composite" / "large.png"),
                 "--mask", str(data_dir / "mask" / "large.png"), "--out", str(out), "--similarity-out", str(similarity)])
    assert code == 0 and "wrote" in capsys.readouterr().out
    result = np.asarray(Image.open(out))
    assert result.shape == np.asarray(Image.open(data_dir / "composite" / "large.png")).shape
    assert np.asarray(Image.open(similarity)).max() == 255


def test_errors_are_one_sentence_with_exit_code_2(data_dir, tmp_path, capsys):
    empty = tmp_path / "empty.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(empty)
    cases = [
        (["harmonization", "eval", "--method", "composite", "--data", str(tmp_path)], "lacks composite/"),
        (["harmonization", "eval", "--method", "no-such", "--data", str(data_dir)], "Unknown model"),
        (["harmonize", "--method", "composite", "--composite", str(data_dir / "composite" / "large.png"),
          "--mask", str(empty), "--out", str(tmp_path / "x.png")], "same size"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1
