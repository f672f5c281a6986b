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
    slider, gallery, overlay, table, result_file, shown, notes, mask = client.predict(
        editor_value(composite), handle_file(EXAMPLE.format("mask", "png")), handle_file(EXAMPLE.format("real", "jpg")),
        ["composite", "semantic-routing", "srh-tiny"], api_name="/harmonize")
    before, after = (np.asarray(Image.open(item)) for item in slider)
    assert before.shape == after.shape == np.asarray(Image.open(composite)).shape
    assert [item["caption"] for item in gallery] == ["composite", "semantic-routing", "srh-tiny"]
    assert np.asarray(Image.open(overlay)).shape == before.shape
    rows = {row[0]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    assert set(rows) == {"composite", "semantic-routing", "srh-tiny"} and not notes
    assert rows["srh-tiny"]["fMSE ↓"] < rows["composite"]["fMSE ↓"] and rows["srh-tiny"]["status"] == "✓"
    best = min(("semantic-routing", "srh-tiny"), key=lambda method: rows[method]["fMSE ↓"])
    assert shown == best  # the slider shows the best result by the reference
    picked = np.asarray(Image.open(gallery[[item["caption"] for item in gallery].index(best)]["image"]))
    assert np.array_equal(np.asarray(Image.open(result_file)), picked) and np.array_equal(after, picked)
    assert np.array_equal(np.asarray(Image.open(mask)) > 127, np.asarray(Image.open(EXAMPLE.format("mask", "png"))) > 127)


def test_harmonize_endpoint_errors_and_keeps_serving(client, tmp_path):
    empty = tmp_path / "empty.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(empty)
    composite = EXAMPLE.format("composite", "jpg")
    with pytest.raises(Exception, match="same size"):
        client.predict(editor_value(composite), handle_file(str(empty)), None, ["composite"], api_name="/harmonize")
    with pytest.raises(Exception, match="No foreground mask was painted|paint the foreground"):
        client.predict(editor_value(composite), None, None, ["composite"], api_name="/harmonize")
    _, gallery, _, table, _, shown, _, _ = client.predict(editor_value(composite), handle_file(EXAMPLE.format("mask", "png")),
                                                          None, ["composite", "semantic-routing"], api_name="/harmonize")
    assert len(gallery) == 2 and shown == "semantic-routing"  # without a reference: the semantic-routing result
    assert table["headers"] == ["method", "seconds", "status"]
    with pytest.raises(Exception, match="not in the list of choices"):  # srh-full cannot run here: not a choice
        client.predict(editor_value(composite), handle_file(EXAMPLE.format("mask", "png")), None, ["srh-full"],
                       api_name="/harmonize")
