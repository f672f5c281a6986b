"""API test: the real app on 127.0.0.1, ``/score`` called with gradio_client."""

from __future__ import annotations

import pandas as pd
import pytest
from gradio_client import handle_file

pytestmark = pytest.mark.api


def test_score_endpoint(client, photo_files):
    table, status, csv_path, chart = client.predict(
        [handle_file(str(photo_files["image"]))],
        [handle_file(str(photo_files["reference"]))],
        handle_file(str(photo_files["mask"])),
        ["psnr", "ssim", "piqe", "ih-fmse"],
        api_name="/score",
    )
    assert table["headers"] == ["image", "psnr", "ssim", "piqe", "ih-fmse"]
    row = dict(zip(table["headers"], table["data"][0], strict=True))
    assert row["image"] == "photo.png" and 20 < row["psnr"] < 30 and 0 < row["ssim"] < 1
    assert [line[:2] for line in status["data"]] == [[model, "✓ scored"] for model in ("psnr", "ssim", "piqe", "ih-fmse")]
    long = pd.read_csv(csv_path, keep_default_na=False)
    assert set(long["model"]) == {"psnr", "ssim", "piqe", "ih-fmse"} and len(long) == 4 and (long["error"] == "").all()


def test_one_failing_model_leaves_the_others(client, photo_files):
    """Issue #22: a model that cannot score these inputs (here: full-reference without references) is a row with
    its reason; the others' scores stay. Models that cannot run on this server are not choices at all."""
    table, status, csv_path, _ = client.predict([handle_file(str(photo_files["image"]))], None, None,
                                                ["piqe", "psnr", "entropy"], api_name="/score")
    assert table["headers"] == ["image", "piqe", "psnr", "entropy"]
    row = dict(zip(table["headers"], table["data"][0], strict=True))
    assert row["psnr"] is None and 0 <= row["piqe"] <= 100 and row["entropy"] > 0
    reasons = {line[0]: (line[1], line[2]) for line in status["data"]}
    assert reasons["psnr"][0] == "✗ not scored" and "full-reference" in reasons["psnr"][1]
    assert reasons["entropy"][0] == "✓ scored"
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict([handle_file(str(photo_files["image"]))], None, None, ["piqe", "harmonyiqa-vlm-nr"],
                       api_name="/score")
    long = pd.read_csv(csv_path, keep_default_na=False)
    assert long.set_index("model").loc["psnr", "error"].startswith("'psnr' is a full-reference metric")


def test_score_endpoint_errors_are_sentences_and_app_keeps_serving(client, photo_files, tmp_path):
    text = tmp_path / "words.png"
    text.write_text("not an image")
    cases = [
        (([handle_file(str(photo_files["image"]))], None, None, ["psnr"]), "full-reference"),
        (([handle_file(str(text))], None, None, ["entropy"]), "not an image"),
        (([handle_file(str(photo_files["image"]))], None, None, ["no-such-model"]), "not in the list of choices"),
        (([handle_file(str(photo_files["image"]))], None, None, []), "No model was chosen"),
    ]
    for args, message in cases:
        with pytest.raises(Exception, match=message):
            client.predict(*args, api_name="/score")
    table, _, _, _ = client.predict([handle_file(str(photo_files["image"]))], None, None, ["entropy"], api_name="/score")
    assert table["data"][0][0] == "photo.png"
