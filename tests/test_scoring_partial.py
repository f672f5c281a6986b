"""Issue #22: one failing model never wipes a run; names stay unique; large images are scored at a working size."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backend import registry
from backend.errors import InputError
from backend.protocols import ScoreResult
from backend.scoring import model_report, score_images, unique_names, wide_table
from tests.conftest import noisy, sample_photo


class OutOfMemory:
    def score(self, image, reference=None, mask=None):
        if image.shape[0] > 80:
            raise MemoryError
        return ScoreResult(1.0)


@pytest.fixture
def greedy_model():
    card = registry.ModelCard("test-greedy", "iqa-nr", "fails on large images", score_range=(0, 1))
    registry.register(card)(lambda: OutOfMemory())
    yield card.name
    registry.unregister(card.name)


@pytest.fixture
def two_folders(tmp_path):
    paths = []
    for folder, sigma in (("a", 2.0), ("b", 30.0)):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "aloe-pot.png"
        Image.fromarray(noisy(sample_photo("coffee")[::4, ::4].copy(), sigma)).save(path)
        paths.append(path)
    return paths


def test_failures_are_rows_beside_the_scores(two_folders, greedy_model):
    small = two_folders[0].parent / "small.png"
    Image.fromarray(sample_photo("coffee")[:64, :64].copy()).save(small)
    images = [*two_folders, small]
    table = score_images(images, ["piqe", "psnr", "srh-full", greedy_model], failures="report")
    scores = table[table["error"] == ""]
    assert set(scores["model"]) == {"piqe", greedy_model} and scores["score"].notna().all()
    report = model_report(table).set_index("model")
    assert report.loc["piqe", "status"] == "✓ scored"
    assert report.loc["psnr", "status"] == "✗ not scored" and "full-reference" in report.loc["psnr", "detail"]
    assert "srh-full" in report.loc["srh-full", "detail"]  # not an IQA model: refused, the others still run
    assert report.loc[greedy_model, "status"] == "⚠ 2 of 3 not scored"
    assert "ran out of memory" in report.loc[greedy_model, "detail"]
    wide = wide_table(table)
    assert list(wide["image"]) == ["a/aloe-pot.png", "b/aloe-pot.png", "small.png"]  # never merged
    with pytest.raises(InputError, match="full-reference"):  # the command line still refuses at once
        score_images(images, ["piqe", "psnr"])
    with pytest.raises(InputError, match="Nothing could be scored.*full-reference"):
        score_images(images, ["psnr"], failures="report")


def test_unique_names():
    assert unique_names(["x/a.png", "y/a.png", "b.png"]) == ["x/a.png", "y/a.png", "b.png"]
    cache = "/tmp/gradio/0123456789abcdef0123/a.png"
    assert unique_names([cache, "/tmp/gradio/fedcba9876543210fedc/a.png"]) == ["a.png #1", "a.png #2"]
    assert unique_names(["a.png", "a.png"]) == ["a.png #1", "a.png #2"]


def test_working_size(tmp_path):
    big = np.repeat(np.repeat(sample_photo("astronaut"), 4, axis=0), 4, axis=1)  # 2048 x 2048
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    Image.fromarray(noisy(big, 5.0)).save(tmp_path / "ref.jpg", quality=90)
    table = score_images([tmp_path / "big.jpg"], ["psnr", "entropy"], references=[tmp_path / "ref.jpg"],
                         failures="report", working_pixels=512 * 512)
    assert (table["error"] == "").all() and table["score"].notna().all()
    assert table["note"].str.contains("scored at 512x512, the working size \\(the image is 2048x2048\\)").all()
    assert "working size" in model_report(table).loc[0, "detail"]
