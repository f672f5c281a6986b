"""Score tab / ``score_images`` / ``python -m backend score`` with a saved PromptIQA prompt (paper 004)."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from backend.cli import main
from backend.errors import InputError
from backend.iqa.promptiqa.service import save_prompt
from backend.protocols import Prompt
from backend.scoring import score_images
from backend.store.db import close_default_databases
from tests.promptiqa.helpers import noisy_series


@pytest.fixture
def saved_prompt(tmp_path, monkeypatch, settings_env):
    """A prompt 'noise-5to1' (less noise = higher score) saved in a store of its own."""
    settings_env(HARMONYLAB_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}", HARMONYLAB_DATA_DIR=tmp_path / "data")
    images = noisy_series(6)
    save_prompt("noise-5to1", Prompt(tuple(images[:5]), np.array([5.0, 4.0, 3.0, 2.0, 1.0])))
    targets = []
    for k in (0, 5):
        Image.fromarray(images[k]).save(tmp_path / f"target{k}.png")
        targets.append(tmp_path / f"target{k}.png")
    yield targets
    close_default_databases()


def test_prompt_models_score_under_the_saved_prompt_next_to_other_models(saved_prompt):
    table = score_images(saved_prompt, ["entropy", "promptiqa"], prompt="noise-5to1")
    prompt_rows = table[table["model"] == "promptiqa[noise-5to1]"]
    assert list(prompt_rows["image"]) == ["target0.png", "target5.png"]
    assert prompt_rows["score"].between(1.0, 5.0).all()  # the prompt's own scale
    assert not prompt_rows["lower_better"].any()
    assert set(table["model"]) == {"entropy", "promptiqa[noise-5to1]"}


def test_prompt_models_without_a_prompt_or_with_an_unknown_one_are_refused(saved_prompt):
    with pytest.raises(InputError, match="saved prompt"):
        score_images(saved_prompt, ["promptiqa"])
    with pytest.raises(InputError, match="no-such-prompt"):
        score_images(saved_prompt, ["promptiqa"], prompt="no-such-prompt")
    table = score_images(saved_prompt, ["entropy"], prompt="no-such-prompt")  # unused by models without prompts
    assert set(table["model"]) == {"entropy"}


def test_cli_score_with_a_saved_prompt(saved_prompt, capsys):
    code = main(["score", "--model", "promptiqa", "--prompt", "noise-5to1", *map(str, saved_prompt)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and lines[0] == "image,model,score"
    assert [line.split(",")[1] for line in lines[1:]] == ["promptiqa[noise-5to1]"] * 2


@pytest.mark.api
def test_score_endpoint_uses_a_prompt_saved_in_the_promptiqa_tab(client, tmp_path):
    images = noisy_series(6)
    for k, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"p{k}.png")
    prompt = [handle_file(str(tmp_path / f"p{k}.png")) for k in range(5)]
    client.predict("score-tab-prompt", prompt, "5, 4, 3, 2, 1", api_name="/promptiqa_save")
    table, _, _, _ = client.predict([handle_file(str(tmp_path / "p5.png"))], None, None, ["promptiqa", "entropy"],
                                    "score-tab-prompt", api_name="/score")
    assert table["headers"] == ["image", "promptiqa[score-tab-prompt]", "entropy"]
    assert 1.0 <= float(table["data"][0][1]) <= 5.0
    with pytest.raises(Exception, match="saved prompt"):
        client.predict([handle_file(str(tmp_path / "p5.png"))], None, None, ["promptiqa"], None, api_name="/score")
