"""API test: the real app on 127.0.0.1, ``/dogiqa`` with gradio_client."""

from __future__ import annotations

import json

import pytest
from gradio_client import handle_file
from PIL import Image

from backend.data.photos import skimage_photos

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("dogiqa-api") / "chelsea.png"
    Image.fromarray(skimage_photos(256)["chelsea"]).save(path)
    return str(path)


def test_dogiqa_endpoint_shows_regions_and_components(client, image):
    overlay, summary, components, regions, details = client.predict(
        handle_file(image), "compare2score", 7, "paper", "weighted", 0, 0.01, api_name="/dogiqa")
    data = json.loads(details)
    assert "Dog-IQA score" in summary and overlay
    parts = data["components"]
    assert data["score"] == pytest.approx(parts["final"])
    assert parts["final"] == pytest.approx((parts["global_score"] + parts["local_score"]) / 2 + parts["seg_score"])
    assert len(regions["data"]) == len(data["regions"]) + 1  # the whole image, then every region
    assert [row[0] for row in components["data"]][:3] == [
        "s_global (whole image)", "s_local (area-weighted regions)", "s_seg = c K / c_max"]


def test_dogiqa_endpoint_errors(client, image):
    with pytest.raises(Exception, match="no-reference model"):
        client.predict(handle_file(image), "psnr", 7, "paper", "argmax", 0, 0.01, api_name="/dogiqa")
    with pytest.raises(Exception, match="No image"):
        client.predict(None, "compare2score", 7, "paper", "argmax", 0, 0.01, api_name="/dogiqa")
