"""API test: the real app on 127.0.0.1, ``/score`` called with gradio_client."""

from __future__ import annotations

import pandas as pd
import pytest
from gradio_client import handle_file

pytestmark = pytest.mark.api


def test_score_endpoint(client, photo_files):
    table, csv_path, chart = client.predict(
        [handle_file(str(photo_files["image"]))],
        [handle_file(str(photo_files["reference"]))],
        handle_file(str(photo_files["mask"])),
        ["psnr", "ssim", "piqe", "ih-fmse"],
        api_name="/score",
    )
    assert table["headers"] == ["image", "psnr", "ssim", "piqe", "ih-fmse"]
    row = dict(zip(table["headers"], table["data"][0], strict=True))
    assert row["image"] == "photo.png" and 20 < row["psnr"] < 30 and 0 < row["ssim"] < 1
    long = pd.read_csv(csv_path)
    assert set(long["model"]) == {"psnr", "ssim", "piqe", "ih-fmse"} and len(long) == 4


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
    table, _, _ = client.predict([handle_file(str(photo_files["image"]))], None, None, ["entropy"], api_name="/score")
    assert table["data"][0][0] == "photo.png"
