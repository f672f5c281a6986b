"""``python -m backend scale`` / ``mos`` end to end, as a user runs them."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, "-m", "backend", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def votes_file(tmp_path):
    rng = np.random.default_rng(0)
    truth = {"a": 1.0, "b": 0.0, "c": -1.0}
    rows = []
    for annotator in range(6):
        for _ in range(10):
            left, right = rng.choice(list(truth), 2, replace=False)
            p = 1 / (1 + np.exp(-(truth[left] - truth[right]) * 2))
            rows.append((f"u{annotator}", left, right, "left" if rng.random() < p else "right"))
    rows.append(("u0", "a", "b", "tie"))
    path = tmp_path / "votes.csv"
    pd.DataFrame(rows, columns=["annotator", "left", "right", "choice"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("method", ["thurstone", "bt"])
def test_scale_prints_csv_table(votes_file, method):
    result = run("scale", "--method", method, "--votes", str(votes_file))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == ["item", "score", "ci_low", "ci_high", "se", "n_comparisons"]
    assert list(table.item) == ["a", "b", "c"]
    assert table.score.iloc[0] > table.score.iloc[1] > table.score.iloc[2]
    assert table.n_comparisons.sum() == 2 * 61


def test_scale_bootstrap_json_is_reproducible(votes_file):
    first = run("scale", "--votes", str(votes_file), "--bootstrap", "30", "--seed", "3", "--json")
    second = run("scale", "--votes", str(votes_file), "--bootstrap", "30", "--seed", "3", "--json")
    assert first.returncode == 0, first.stderr
    records = json.loads(first.stdout)
    assert first.stdout == second.stdout
    assert [r["item"] for r in records] == ["a", "b", "c"]
    assert all(r["ci_low"] <= r["ci_high"] for r in records)


def test_mos_reports_table_and_rejections(tmp_path):
    rng = np.random.default_rng(1)
    truth = rng.uniform(1.2, 4.8, 40)
    rows = [(f"s{k}", f"i{j:02d}", int(np.clip(np.rint(t + rng.normal(0, 0.5)), 1, 5)))
            for k in range(15) for j, t in enumerate(truth)]
    rows += [("liar", f"i{j:02d}", int(np.clip(np.rint(6 - t), 1, 5))) for j, t in enumerate(truth)]
    path = tmp_path / "ratings.csv"
    pd.DataFrame(rows, columns=["annotator", "item", "score"]).to_csv(path, index=False)
    result = run("mos", "--ratings", str(path))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == ["item", "mos", "ci_low", "ci_high", "n_ratings"]
    assert "rejected subject liar" in result.stderr
    assert np.corrcoef(table.mos, truth)[0, 1] > 0.95
    as_json = json.loads(run("mos", "--ratings", str(path), "--json").stdout)
    assert list(as_json["rejected_subjects"]) == ["liar"]
    assert len(as_json["items"]) == 40


def test_missing_file_and_bad_columns_exit_2(tmp_path):
    result = run("scale", "--votes", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "does not exist" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("who,first,second,choice\nu,a,b,left\n")
    result = run("scale", "--votes", str(bad))
    assert result.returncode == 2 and "lacks column" in result.stderr
    assert "Traceback" not in result.stderr
    bad.write_text("annotator,left,right,choice\nu,a,b,maybe\n")
    result = run("scale", "--votes", str(bad))
    assert result.returncode == 2 and "left, right or tie" in result.stderr
    result = run("mos", "--ratings", str(bad))
    assert result.returncode == 2 and "lacks column" in result.stderr
