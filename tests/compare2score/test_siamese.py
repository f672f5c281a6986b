"""The shipped offline comparator: exact antisymmetry, P(a, a) = 0.5, sensible order, card present."""

import json

import numpy as np
import pytest

from backend import registry
from backend.data.distortions import distort, rng_for
from backend.data.photos import skimage_photos
from backend.iqa.compare2score.levels import soft_preference
from backend.iqa.compare2score.siamese import DEFAULT_WEIGHTS


@pytest.fixture(scope="module")
def comparator():
    return registry.create("c2s-siamese")


@pytest.fixture(scope="module")
def photos():
    photo = skimage_photos(256)["chelsea"]
    return {level: distort(photo, "gaussian_noise", level, rng_for("siamese-test", level)) for level in (0, 2, 5)}


def test_card_reports_data_command_and_quality():
    card = json.loads((DEFAULT_WEIGHTS / "model.json").read_text())
    assert card["command"].startswith("python -m backend compare2score-train")
    assert {"validation", "test"} <= set(card["metrics"])
    assert 0 < card["metrics"]["test"]["pairs"]["level_accuracy"] <= 1
    assert (DEFAULT_WEIGHTS / "model.safetensors").stat().st_size < 5_000_000


def test_weights_carry_their_config(comparator):
    from backend import weights

    metadata = weights.read_metadata(DEFAULT_WEIGHTS / "model.safetensors")
    assert metadata["network"] == "SiameseNet" and comparator.network.config.max_side == 384
    assert comparator.card["name"] == "c2s-siamese"


def test_antisymmetric_and_self_comparison_is_similar(comparator, photos):
    a, b = photos[0], photos[5]
    forward, backward = comparator.compare(a, b), comparator.compare(b, a)
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-6)
    assert soft_preference(forward) + soft_preference(backward) == pytest.approx(1.0, abs=1e-6)
    assert soft_preference(comparator.compare(a, a)) == pytest.approx(0.5, abs=1e-6)


def test_batched_and_anchor_forms_agree(comparator, photos):
    images = list(photos.values())
    batch = comparator.compare_batch([images[0], images[1]], [images[2], images[0]])
    np.testing.assert_allclose(batch[0], comparator.compare(images[0], images[2]), atol=1e-5)
    grid = comparator.compare_with_anchors(images[:2], images)
    assert grid.shape == (3, 2, 5)
    np.testing.assert_allclose(grid[2, 1], comparator.compare(images[1], images[2]), atol=1e-5)


def test_heavier_noise_is_judged_worse(comparator, photos):
    assert soft_preference(comparator.compare(photos[0], photos[5])) < 0.5
    assert soft_preference(comparator.compare(photos[5], photos[0])) > 0.5


def test_training_writes_weights_with_their_config_and_a_card(tmp_path):
    """A few steps on noisy versions of the scikit-image photos: ``model.safetensors`` (config in its
    metadata) and ``model.json`` beside it, read back by the comparator (folder or file)."""
    from PIL import Image

    from backend import weights
    from backend.iqa.compare2score.siamese import SiameseComparator
    from backend.iqa.compare2score.train import train_siamese

    rows = ["path,mos,mos_std,split,photo"]
    photos = skimage_photos(96)
    splits = ["train"] * (len(photos) - 2) + ["validation", "test"]
    for (name, photo), split in zip(photos.items(), splits, strict=True):
        for level in range(6):
            path = tmp_path / f"{name}-{level}.png"
            Image.fromarray(distort(photo, "gaussian_noise", level, rng_for(name, level)) if level else photo).save(path)
            rows.append(f"{path},{5 - 0.8 * level},0.4,{split},{name}")
    (tmp_path / "scores.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "siamese"
    card = train_siamese(tmp_path / "scores.csv", out, steps=5, batch_pairs=16, max_side=96, threads=1, command="c",
                         log=lambda text: None)
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.safetensors"]
    assert json.loads(weights.read_metadata(out / "model.safetensors")["config"])["max_side"] == 96
    assert json.loads((out / "model.json").read_text())["metrics"].keys() == card["metrics"].keys() == {"validation", "test"}
    for location in (out, out / "model.safetensors"):
        comparator = SiameseComparator(location, device="cpu")
        assert comparator.max_side == 96 and comparator.card["command"] == "c"
