"""API test of the PromptIQA tab on the live app: ``/promptiqa`` with gradio_client, save/load, bad prompts."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import handle_file

from tests.promptiqa.helpers import noisy_series, write_prompt

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("promptiqa-api")
    write_prompt(folder, [5, 4, 3, 2, 1], noisy_series(6))  # p0..p4 (prompt), p5 is written below
    from PIL import Image

    Image.fromarray(noisy_series(6)[5]).save(folder / "target.png")
    return folder


def test_promptiqa_endpoint_scores_in_the_prompt_scale(client, files):
    prompt = [handle_file(str(files / f"p{k}.png")) for k in range(5)]
    table, csv_path, gallery, _ = client.predict(prompt, "5, 4, 3, 2, 1", [handle_file(str(files / "target.png"))],
                                                 "promptiqa", api_name="/promptiqa")
    assert table["headers"] == ["image", "score"] and table["data"][0][0] == "target.png"
    assert 1.0 <= float(table["data"][0][1]) <= 5.0
    assert len(gallery) == 5 and [g["caption"] for g in gallery] == ["5", "4", "3", "2", "1"]


def test_save_then_load_a_named_prompt(client, files):
    prompt = [handle_file(str(files / f"p{k}.png")) for k in range(3)]
    message, _, owner_token = client.predict("api-prompt", prompt, "1, 2, 3", api_name="/promptiqa_save")
    assert "api-prompt" in message and "3 pairs" in message and owner_token.startswith("po1.")
    paths, scores, gallery = client.predict("api-prompt", api_name="/promptiqa_load")
    assert scores == "1, 2, 3" and len(paths) == 3 and len(gallery) == 3
    assert [Path(p).name for p in paths] == ["p0.png", "p1.png", "p2.png"]  # copies named by label, not the store's files


def test_bad_prompts_are_sentences_and_the_app_keeps_serving(client, files):
    one = [handle_file(str(files / "p0.png"))]
    two = [handle_file(str(files / f"p{k}.png")) for k in range(2)]
    target = [handle_file(str(files / "target.png"))]
    for args, message in [((one, "1", target), "at least 2"), ((two, "3, 3", target), "equal"),
                          ((two, "1, nan", target), "finite"), ((two, "1, 2, 3", target), "one score per image")]:
        with pytest.raises(Exception, match=message):
            client.predict(*args, "promptiqa", api_name="/promptiqa")
    table, *_ = client.predict(two, "1, 2", target, "promptiqa", api_name="/promptiqa")
    assert table["data"][0][0] == "target.png"
