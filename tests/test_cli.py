"""``python -m backend score`` / ``models``: CSV output, folders matched by name, exit code 2 on bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import REPO


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})


def test_score_prints_csv_and_writes_file(photo_files, tmp_path):
    out_csv = tmp_path / "out" / "scores.csv"
    result = run_cli("score", "--model", "psnr", "--model", "entropy", "--ref", str(photo_files["reference"].parent),
                     "--csv", str(out_csv), str(photo_files["image"]))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == ["image", "model", "score"]
    assert list(table["model"]) == ["psnr", "entropy"] and list(table["image"]) == ["photo.png"] * 2
    assert 20 < table.loc[0, "score"] < 30
    assert pd.read_csv(out_csv).shape == (2, 3)


def test_score_with_mask_metric(photo_files):
    result = run_cli("score", "--model", "ih-fmse", "--ref", str(photo_files["reference"]), "--mask",
                     str(photo_files["mask"]), str(photo_files["image"]))
    assert result.returncode == 0, result.stderr
    value = pd.read_csv(io.StringIO(result.stdout)).loc[0, "score"]
    assert 100 < value < 200  # noise of sd 12 gives an error of about 12^2 = 144


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nope", "{image}"], "Unknown model 'nope'"),
        (["--model", "psnr", "{image}"], "full-reference"),
        (["--model", "entropy", "{missing}"], "does not exist"),
        (["--model", "entropy", "{text}"], "is not an image"),
        (["--model", "ih-fmse", "--ref", "{ref}", "{image}"], "foreground mask"),
    ],
)
def test_bad_input_exit_code_2(args, message, photo_files, tmp_path):
    text = tmp_path / "readme.png"
    text.write_text("not an image")
    values = {"image": str(photo_files["image"]), "missing": str(tmp_path / "missing.png"), "text": str(text),
              "ref": str(photo_files["reference"])}
    result = run_cli("score", *[a.format(**values) for a in args])
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_models_json_lists_status():
    result = run_cli("models", "--json")
    assert result.returncode == 0, result.stderr
    models = {m["name"]: m for m in json.loads(result.stdout)}
    assert models["psnr"]["task"] == "iqa-fr" and models["psnr"]["status"] == "ready"
    assert models["gmsd"]["lower_better"] is True
    assert models["niqe"]["status"] in ("needs download", "ready")
    for model in models.values():
        assert {"name", "task", "lower_better", "status"} <= model.keys()
    human = run_cli("models", "--task", "iqa-nr")
    assert human.returncode == 0 and "piqe" in human.stdout and "psnr " not in human.stdout
