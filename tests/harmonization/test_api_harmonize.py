"""API test: ``/harmonize`` on the real app with gradio_client (composite + mask upload + reference)."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

pytestmark = pytest.mark.api

EXAMPLE = "assets/examples/{}/flowers.{}"


def editor_value(path):
    return {"background": handle_file(path), "layers": [], "composite": None}


def test_harmonize_endpoint(client):
    composite = EXAMPLE.format("composite", "jpg")
    slider, gallery, overlay, table, result_file = client.predict(
        editor_value(composite), handle_file(EXAMPLE.format("mask", "png")), handle_file(EXAMPLE.format("real", "jpg")),
        ["composite", "semantic-routing", "srh-tiny"], api_name="/harmonize")
    before, after = (np.asarray(Image.open(item)) for item in slider)
    assert before.shape == after.shape == np.asarray(Image.open(composite)).shape
    assert [item["caption"] for item in gallery] == ["composite", "semantic-routing", "srh-tiny"]
    assert np.asarray(Image.open(overlay)).shape == before.shape
    rows = {row[0]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    assert set(rows) == {"composite", "semantic-routing", "srh-tiny"}
    assert rows["srh-tiny"]["fmse"] < rows["composite"]["fmse"]
    shown = np.asarray(Image.open(gallery[1]["image"]))  # the slider shows the first method that changes anything
    assert np.array_equal(np.asarray(Image.open(result_file)), shown) and np.array_equal(after, shown)


def test_harmonize_endpoint_errors_and_keeps_serving(client, tmp_path):
    empty = tmp_path / "empty.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(empty)
    composite = EXAMPLE.format("composite", "jpg")
    with pytest.raises(Exception, match="same size"):
        client.predict(editor_value(composite), handle_file(str(empty)), None, ["composite"], api_name="/harmonize")
    with pytest.raises(Exception, match="No foreground mask was painted|paint the foreground"):
        client.predict(editor_value(composite), None, None, ["composite"], api_name="/harmonize")
    _, gallery, _, _, _ = client.predict(editor_value(composite), handle_file(EXAMPLE.format("mask", "png")), None,
                                         ["composite"], api_name="/harmonize")
    assert len(gallery) == 1
