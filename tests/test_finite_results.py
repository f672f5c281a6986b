"""Issue #20 (8): a result is never NaN -- an input that would give one is refused with a reason.

PromptIQA: prompt scores whose range overflows (1e308 / -1e308), flat or 1x1 images (their statistics
divide by zero), huge scores shown in tables (pandas' rounding overflowed to an empty cell). Dog-IQA: c_max
NaN, infinite, tiny or huge. Compare2Score: anchor MOS that are not finite or whose range overflows.
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pandas as pd
import pytest
from gradio_client import handle_file
from PIL import Image

from backend.errors import InputError
from backend.protocols import Prompt, check_scores
from tests.promptiqa.helpers import noisy_series

FLAT = np.full((64, 64, 3), 128, np.uint8)
ONE_PIXEL = np.array([[[10, 200, 30]]], np.uint8)


def test_prompt_scores_whose_range_overflows_are_refused():
    with pytest.raises(InputError, match="too wide a range"):
        check_scores([1e308, -1e308])
    assert list(check_scores([1e308, 1e307])) == [1e308, 1e307]  # wide, but its range is a number
    with pytest.raises(InputError, match="finite"):
        check_scores([1.0, float("inf")])


@pytest.mark.parametrize(("bad", "reason"), [(FLAT, "it has no texture"), (ONE_PIXEL, "it is 1x1 pixels")],
                         ids=["flat", "1x1"])
def test_promptiqa_refuses_images_it_cannot_measure(bad, reason):
    from backend.iqa.promptiqa.service import score_sources

    images = noisy_series(3)
    prompt = Prompt(tuple(images[:2]), np.array([1.0, 2.0]), ("a.png", "b.png"))
    with pytest.raises(InputError, match=f"cannot rate 'bad.png': {reason}"):
        score_sources([images[2], bad], prompt, names=["good.png", "bad.png"])
    with pytest.raises(InputError, match=f"cannot rate the prompt image 'b.png': {reason}"):
        score_sources([images[2]], Prompt((images[0], bad), np.array([1.0, 2.0]), ("a.png", "b.png")))
    huge = Prompt(tuple(images[:2]), np.array([1e308, 1e307]), ("a.png", "b.png"))
    assert np.isfinite(score_sources([images[2]], huge)["score"]).all()


def test_tables_keep_huge_scores():
    from ui.common import rounded

    table = rounded(pd.DataFrame({"image": ["a", "b"], "score": [1e308, 1.23456789]}), 6)
    assert table["score"].tolist() == [1e308, 1.234568] and table["image"].tolist() == ["a", "b"]


@pytest.mark.parametrize("c_max", [float("nan"), float("inf"), 1e-320, 0.5, 1e308, "x"])
def test_dogiqa_c_max_must_be_a_usable_count(c_max):
    from backend.iqa.dogiqa.aggregate import aggregate
    from backend.iqa.dogiqa.service import analyse_arrays

    with pytest.raises(InputError, match="c_max must be a number of masks from 1 to"):
        aggregate(4, [4], [1], c_max=c_max)
    with pytest.raises(InputError, match="c_max must be a number of masks"):
        analyse_arrays([noisy_series(1)[0]], "piqe", c_max=c_max)


def test_anchor_mos_must_be_finite_with_a_finite_range(tmp_path):
    from backend.iqa.compare2score.anchors import anchor_set_from_arrays, anchor_set_from_files

    images = noisy_series(2)
    with pytest.raises(InputError, match="too wide a range"):
        anchor_set_from_arrays(images, [1e308, -1e308])
    files = []
    for k, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"a{k}.png")
        files.append(str(tmp_path / f"a{k}.png"))
    for mos in ("inf", "nan", "1e400"):
        (tmp_path / "anchors.csv").write_text(f"path,mos,mos_std\na0.png,1,0.1\na1.png,{mos},0.1\n")
        with pytest.raises(InputError, match="no finite numeric MOS in row 2"):
            anchor_set_from_files([str(tmp_path / "anchors.csv"), *files])
    (tmp_path / "anchors.csv").write_text("path,mos,mos_std\na0.png,1,inf\na1.png,2,0.1\n")
    with pytest.raises(InputError, match="mos_std in row 1"):
        anchor_set_from_files([str(tmp_path / "anchors.csv"), *files])


def post_raw(url: str, api_name: str, body: str) -> str:
    """Gradio's HTTP API with a hand-written JSON body (NaN and Infinity, which gradio_client cannot send)."""
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=300) as response:
        return response.read().decode()


@pytest.mark.api
def test_endpoints_refuse_what_would_give_nan(client, live_app, tmp_path):
    from gradio_client.exceptions import AppError

    images = noisy_series(3)
    paths = []
    for k, image in enumerate([*images, FLAT, ONE_PIXEL]):
        Image.fromarray(image).save(tmp_path / f"i{k}.png")
        paths.append(str(tmp_path / f"i{k}.png"))
    prompt, target = [handle_file(p) for p in paths[:2]], [handle_file(paths[2])]
    with pytest.raises(AppError, match="too wide a range"):
        client.predict(prompt, "1e308, -1e308", target, "promptiqa", api_name="/promptiqa")
    for bad, reason in zip(paths[3:], ("it has no texture", "it is 1x1 pixels"), strict=True):
        with pytest.raises(AppError, match=reason):
            client.predict(prompt, "1, 2", [handle_file(bad)], "promptiqa", api_name="/promptiqa")
        with pytest.raises(AppError, match=reason):
            client.predict([handle_file(bad), prompt[1]], "1, 2", target, "promptiqa", api_name="/promptiqa")
    table, *_ = client.predict(prompt, "1e308, 1e307", target, "promptiqa", api_name="/promptiqa")
    assert table["data"][0][1] is not None and 1e307 <= float(table["data"][0][1]) <= 1e308
    with urllib.request.urlopen(urllib.request.Request(
            f"{live_app.url}gradio_api/upload", method="POST",
            data=_multipart(paths[0]), headers={"Content-Type": "multipart/form-data; boundary=harmonylab"})) as r:
        server_path = json.loads(r.read())[0]
    image = json.dumps({"path": server_path, "orig_name": "i0.png", "meta": {"_type": "gradio.FileData"}})
    for c_max in ("NaN", "Infinity", "1e-320"):
        text = post_raw(live_app.url, "dogiqa", f'{{"data": [{image}, "piqe", 7, "paper", "argmax", {c_max}, 0.01]}}')
        assert "event: error" in text and "c_max must be a number of masks" in text, text


def _multipart(path: str) -> bytes:
    with open(path, "rb") as handle:
        content = handle.read()
    return (b"--harmonylab\r\nContent-Disposition: form-data; name=\"files\"; filename=\"i0.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + content + b"\r\n--harmonylab--\r\n")
