"""API test: the real app on 127.0.0.1, ``/compare2score`` and ``/compare2score_batch`` with gradio_client."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from gradio_client import handle_file
from PIL import Image

from backend.data.distortions import distort, rng_for
from backend.data.photos import skimage_photos

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("c2s-api")
    photo = skimage_photos(256)["astronaut"]
    paths = []
    for level in (0, 4):
        path = folder / f"astronaut_jpeg{level}.png"
        Image.fromarray(distort(photo, "jpeg", level, rng_for("api", level))).save(path)
        paths.append(str(path))
    return paths


def test_compare2score_endpoint_shows_every_step(client, images):
    summary, gallery, bars, heatmap, scale, details = client.predict(
        handle_file(images[1]), "c2s-siamese", "probability", "mos", False, None, api_name="/compare2score")
    data = json.loads(details)
    assert "Score" in summary and len(gallery) == 5
    assert np.array(data["level_probabilities"]).shape == (5, 5)
    P = np.array(data["P"])
    assert np.allclose(P + P.T, 1) and np.allclose(np.diag(P), 0.5)
    assert data["score"] == pytest.approx(data["score_mos"]) and bars and heatmap and scale


def test_batch_endpoint_and_errors(client, images):
    table, csv_path = client.predict([handle_file(p) for p in images], "c2s-siamese", "count", "mos", False, None,
                                     api_name="/compare2score_batch")
    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == ["image", "score", "score_minmax"] and len(frame) == 2
    assert frame["score"].iloc[0] > frame["score"].iloc[1]  # pristine above JPEG level 4
    with pytest.raises(Exception, match="Unknown comparator"):
        client.predict(handle_file(images[0]), "no-such-comparator", "probability", "mos", False, None,
                       api_name="/compare2score")
    with pytest.raises(Exception, match="No test image|No image"):
        client.predict(None, "c2s-siamese", "probability", "mos", False, None, api_name="/compare2score")
