"""``promptiqa sample / save / load / prompts`` and ``score --saved``: the PromptIQA tab's actions as CLI commands."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from backend.cli import main
from backend.store.db import close_default_databases
from tests.promptiqa.helpers import noisy_series, write_prompt


@pytest.fixture
def store(tmp_path, monkeypatch, settings_env):
    settings_env(HARMONYLAB_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}", HARMONYLAB_DATA_DIR=tmp_path / "data")
    yield tmp_path
    close_default_databases()


def csv_out(capsys) -> pd.DataFrame:
    return pd.read_csv(StringIO(capsys.readouterr().out))


def test_sample_save_list_load_and_score_with_the_saved_prompt(store, capsys):
    scored = write_prompt(store / "scored", [10, 20, 30, 40, 50, 60, 70, 80])
    assert main(["promptiqa", "sample", "--from", str(scored), "--n", "4", "--out", str(store / "p.csv")]) == 0
    prompt = pd.read_csv(store / "p.csv")
    assert len(prompt) == 4 and prompt["score"].is_monotonic_increasing  # interval sampling spans the range
    assert prompt["score"].min() == 10 and prompt["score"].max() == 80
    capsys.readouterr()

    assert main(["promptiqa", "save", "--name", "noise", "--prompt", str(store / "p.csv")]) == 0
    assert '"pairs": 4' in capsys.readouterr().out
    assert main(["promptiqa", "prompts"]) == 0
    assert list(csv_out(capsys)["name"]) == ["noise"]

    assert main(["promptiqa", "load", "--name", "noise"]) == 0
    loaded = csv_out(capsys)
    assert list(loaded["score"]) == list(prompt["score"])
    assert all(store / "data" in Path(p).parents for p in loaded["path"])

    target = store / "target.png"
    Image.fromarray(noisy_series(2)[1]).save(target)
    assert main(["promptiqa", "score", "--saved", "noise", str(target)]) == 0
    table = csv_out(capsys)
    assert list(table["image"]) == [str(target)] and 10 <= table["score"][0] <= 80


def test_unknown_saved_prompt_and_too_few_pairs_are_clear_errors(store, capsys):
    assert main(["promptiqa", "load", "--name", "nothing"]) == 2
    assert "no saved prompt called 'nothing'" in capsys.readouterr().err
    single = write_prompt(store / "one", [5])
    assert main(["promptiqa", "save", "--name", "one", "--prompt", str(single)]) == 2
    err = capsys.readouterr().err
    assert "at least 2" in err and "Traceback" not in err
    assert main(["promptiqa", "prompts", "--json"]) == 0 and capsys.readouterr().out.strip() == "[]"


def test_tab_sampling_reads_the_uploaded_files_the_csv_names(tmp_path):
    """The PromptIQA tab's "sample" action matches the CSV's paths to the uploads by file name: whatever folder
    a row names, the uploaded file of that name is used (issue #20); two uploads of one name are refused."""
    from backend.errors import InputError
    from ui.promptiqa import sample

    low, high = write_prompt(tmp_path / "a", [1]), write_prompt(tmp_path / "b", [9], noisy_series(2)[1:])
    (high.parent / "p0.png").rename(high.parent / "p1.png")
    scored = tmp_path / "scored.csv"
    scored.write_text("path,score\n/home/someone/photos/p0.png,1\nC:\\Users\\me\\p1.png,9\n")
    uploads = [str(low.parent / "p0.png"), str(high.parent / "p1.png")]
    paths, scores, gallery = sample(str(scored), uploads, None, 2, "interval", 0)
    assert paths == uploads and len(gallery) == 2 and scores == "1, 9"
    (tmp_path / "c").mkdir()
    twin = tmp_path / "c" / "p0.png"
    twin.write_bytes((low.parent / "p0.png").read_bytes())
    with pytest.raises(Exception, match="Two uploaded files are called 'p0.png'"):
        sample(str(scored), [*uploads, str(twin)], None, 2, "interval", 0)
    with pytest.raises(InputError, match="upload every image the CSV names"):
        from backend.iqa.promptiqa.service import read_scored_csv

        read_scored_csv(scored, allowed_files=uploads[:1])
