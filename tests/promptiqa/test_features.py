"""PromptIQA's ``features`` visual encoder and the data/training options around it (paper 004 Sec. 3.2 B, 4.1).

The statistics must move with distortion type and strength, the encoder must give the same token at
inference as the training path (statistics once, then ``project``), views must be deterministic crops,
and a tiny set built here (scikit-image photos, labels made up from the distortion level) must train
and evaluate on view 0 only.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from backend.errors import InputError
from backend.iqa.promptiqa.data import (
    CROP,
    METRICS,
    VIEW_METRICS,
    crop_square,
    crop_view,
    distorted_versions,
    load_dataset,
)
from backend.iqa.promptiqa.features import COUNT, FEATURE_NAMES, quality_statistics, statistics_of
from backend.iqa.promptiqa.model import FEATURES, PromptIQAConfig, PromptIQANet
from backend.iqa.promptiqa.requirements import DEFAULT_HELD_OUT, DEFAULT_TRAIN
from tests.conftest import sample_photo


@pytest.fixture(scope="module")
def square():
    return crop_square(sample_photo("astronaut")[::2, ::2].copy())


def value(statistics, name):
    return statistics[FEATURE_NAMES.index(name)]


def test_statistics_follow_distortion_type_and_strength(square):
    from backend.data.distortions import distort, rng_for

    clean = quality_statistics(square)
    assert clean.shape == (COUNT,) and np.isfinite(clean).all()
    noise = [quality_statistics(distort(square, "gaussian_noise", lv, rng_for("t", lv))) for lv in (1, 3, 5)]
    blur = [quality_statistics(distort(square, "gaussian_blur", lv, rng_for("t", lv))) for lv in (1, 3, 5)]
    jpeg = quality_statistics(distort(square, "jpeg", 5, rng_for("t")))
    noise_levels = [value(s, "noise_sigma") for s in noise]
    assert value(clean, "noise_sigma") < noise_levels[0] < noise_levels[1] < noise_levels[2]
    sharpness = [value(s, "laplacian_log_energy") for s in blur]
    assert value(clean, "laplacian_log_energy") > sharpness[0] > sharpness[1] > sharpness[2]
    assert value(jpeg, "blockiness") > value(clean, "blockiness") + 0.1
    assert value(jpeg, "blockiness_v") > value(clean, "blockiness_v") + 0.1


def test_feature_encoder_token_equals_the_training_path(square):
    torch.manual_seed(0)
    network = PromptIQANet(PromptIQAConfig(visual=FEATURES)).eval()
    images = [square, square[::-1].copy()]
    statistics = statistics_of(images)
    network.visual.fit(np.concatenate([statistics, statistics + 1.0]))
    pixels = torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).copy()).float() / 255.0
    with torch.no_grad():
        tokens = network.encode_images(pixels)
        trained_path = network.visual.project(torch.from_numpy(statistics))
    assert tokens.shape == (2, 128)
    torch.testing.assert_close(tokens, trained_path)
    assert {"visual.centre", "visual.spread"} <= set(network.state_dict())  # saved with the weights


def test_views_are_deterministic_crops_of_the_photo():
    photo = sample_photo("coffee")
    first, again = crop_view(photo, 2, "key"), crop_view(photo, 2, "key")
    assert first.shape == (CROP, CROP, 3) and np.array_equal(first, again)
    assert not np.array_equal(first, crop_view(photo, 1, "key"))  # a closer look, elsewhere
    assert not np.array_equal(first, crop_square(photo))
    with pytest.raises(InputError, match="View 9"):
        crop_view(photo, 9, "key")


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    """Two views of four scikit-image photos, three families; labels are made-up functions of the level."""
    from backend.data.photos import skimage_photos

    folder = tmp_path_factory.mktemp("promptiqa-set")
    splits = {"astronaut": "train", "coffee": "train", "chelsea": "test", "rocket": "validation"}
    images, rows = [], []
    rng = np.random.default_rng(0)
    for name, photo in skimage_photos(400).items():
        for view in (0, 1):
            base = crop_square(photo) if view == 0 else crop_view(photo, 1, name)
            for family, level, image in distorted_versions(base, f"{name}{view}", ("gaussian_blur", "gaussian_noise", "jpeg")):
                images.append(image)
                row = {"photo": name, "view": view, "split": splits[name], "family": family, "level": level}
                for k, metric in enumerate(METRICS):
                    made_up = 40.0 - (6 + k) * level + rng.random()
                    row[metric] = made_up if view == 0 or metric in VIEW_METRICS else np.nan
                rows.append(row)
    np.save(folder / "images.npy", np.stack(images))
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    return folder


def test_load_dataset_resizes_for_each_encoder_and_reads_old_sets(tiny_set, tmp_path):
    images, table = load_dataset(tiny_set, size=128)
    assert images.shape[1:] == (128, 128, 3) and set(table["view"]) == {0, 1}
    stored, _ = load_dataset(tiny_set, size=None)
    assert stored.shape[1:] == (CROP, CROP, 3)
    old = tmp_path / "old"
    old.mkdir()
    np.save(old / "images.npy", images[:4])
    table.drop(columns="view").head(4).to_csv(old / "labels.csv", index=False)
    _, old_table = load_dataset(old, size=128)
    assert (old_table["view"] == 0).all()
    with pytest.raises(InputError, match="rebuild"):
        load_dataset(old, size=176)


def test_features_encoder_trains_and_evaluates_on_view_0(tiny_set, tmp_path):
    from backend.iqa.promptiqa.report import evaluate_and_record
    from backend.iqa.promptiqa.train import train

    out = tmp_path / "weights"
    card = train(tiny_set, out, steps=25, pool_size=40, groups=4, targets=3, threads=1,
                 visual=FEATURES, log=lambda text: None)
    assert card["config"]["visual"]["kind"] == "features" and card["training"]["flips"] is False
    assert card["data"]["training_images"] == 2 * 2 * 16  # both views of the two training photos
    cached = tiny_set / "statistics.npy"
    assert cached.is_file()  # computed once for the set, reused by the next run
    stored, _ = load_dataset(tiny_set, size=None)
    np.testing.assert_allclose(np.load(cached)[:3], statistics_of(list(stored[:3])), rtol=1e-5, atol=1e-6)
    card = evaluate_and_record(out, tiny_set, rounds=1)
    table = pd.DataFrame(card["results"]["table"])
    assert set(table["requirement"]) == set(DEFAULT_TRAIN) | set(DEFAULT_HELD_OUT)  # the card's requirements
    assert card["results"]["validation_headline"]["n"] == 10
    bootstrap = card["results"]["headline"]["held_out_srcc_interval_photo_bootstrap"]
    assert bootstrap["photos"] == 1 and set(bootstrap["per_requirement"]) == set(DEFAULT_HELD_OUT)
    mean = bootstrap["mean"]  # one test photo: every resample is that photo, the interval is the point
    assert mean["low"] == mean["srcc"] == mean["high"]
    assert mean["srcc"] == pytest.approx(card["results"]["headline"]["held_out_srcc_interval"], abs=1e-4)
    assert json.loads((out / "model.json").read_text())["results"]["headline"]["n"] == 10
    assert not (out / "card.json").exists()
    only_view_0 = train(tiny_set, tmp_path / "fsim", steps=1, pool_size=20, train_requirements=("fsim", "level"),
                        visual=FEATURES, log=lambda text: None)
    assert only_view_0["data"]["training_images"] == 2 * 16  # view 1 has no FSIM label: left out
    assert only_view_0["data"]["held_out_requirements"] == ["ms_ssim"]  # a trained requirement is not held out


def test_weights_carry_their_config_and_training_continues_from_them(tiny_set, tmp_path):
    """``model.safetensors`` holds the PromptIQAConfig (load_embedded rebuilds the encoder from it, from the
    folder or the file); ``init`` continues from saved weights; the compact CNN encoder trains too."""
    from backend import weights
    from backend.iqa.promptiqa.model import COMPACT, CompactConfig, FeaturesConfig
    from backend.iqa.promptiqa.train import train
    from backend.iqa.promptiqa.weights import load_embedded

    first = tmp_path / "first"
    train(tiny_set, first, steps=2, pool_size=20, groups=2, targets=2, visual=FEATURES, log=lambda text: None)
    metadata = weights.read_metadata(first / "model.safetensors")
    assert metadata["network"] == "PromptIQANet" and json.loads(metadata["config"])["visual"]["kind"] == "features"
    network, card = load_embedded(first / "model.safetensors")
    assert isinstance(network.config.visual, FeaturesConfig)
    assert card["config"] == json.loads(json.dumps(network.config.as_dict()))  # the card is JSON: tuples are lists
    continued = train(tiny_set, tmp_path / "continued", steps=1, pool_size=20, groups=2, targets=2, visual=FEATURES,
                      init=first, learning_rate=0.0, log=lambda text: None)  # so nothing changes
    assert continued["initialised_from"] == str(first)
    again, _ = load_embedded(tmp_path / "continued")
    assert all(torch.equal(value, again.state_dict()[name]) for name, value in network.state_dict().items())
    compact = train(tiny_set, tmp_path / "compact", steps=1, pool_size=20, groups=2, targets=2, visual=COMPACT,
                    log=lambda text: None)
    assert compact["config"]["visual"] == {"kind": "compact", "widths": (32, 48, 64, 96), "input_size": 128}
    assert isinstance(load_embedded(tmp_path / "compact")[0].config.visual, CompactConfig)


def test_card_records_how_the_set_was_built(tmp_path):
    from backend.iqa.promptiqa.train import build_record

    assert build_record(tmp_path) == {}  # a set without build.json (older sets)
    (tmp_path / "build.json").write_text(json.dumps({"families_per_photo": 7, "views": 2,
                                                     "view_metrics": list(VIEW_METRICS), "images": 3168}))
    record = build_record(tmp_path)
    assert record["images"] == 3168
    assert record["command"] == f"python -m backend promptiqa build-data --out {tmp_path} --families 7 --views 2"
    (tmp_path / "build.json").write_text(json.dumps({"families_per_photo": 3, "views": 3, "view_metrics": ["ssim"]}))
    assert build_record(tmp_path)["command"].endswith("--families 3 --views 3 --view-metrics ssim")
    (tmp_path / "build.json").write_text(json.dumps({"families_per_photo": 7, "views": 1,
                                                     "sources": ["plasma", "mate", "opencv", "lomiri"]}))
    assert build_record(tmp_path)["command"].endswith("--views 1 --sources plasma,mate,opencv,lomiri")
    (tmp_path / "build.json").write_text(json.dumps({"views": 1, "sources": ["plasma", "mate", "opencv"]}))
    assert build_record(tmp_path)["command"].endswith("--views 1")


def test_training_keeps_the_checkpoint_with_the_best_validation_figure(tiny_set, tmp_path):
    """Checks every 4 steps and at the end; the saved weights are the chosen checkpoint's: re-checking them
    gives the recorded figure, which is the best of the history."""
    from backend.iqa.promptiqa.train import train, validation_checker
    from backend.iqa.promptiqa.weights import load_embedded

    out = tmp_path / "selected"
    card = train(tiny_set, out, steps=10, pool_size=40, groups=4, targets=3, threads=1, visual=FEATURES,
                 learning_rate=3e-3, validate_every=4, log=lambda text: None)
    selection = card["checkpoint_selection"]
    assert [entry["step"] for entry in selection["history"]] == [4, 8, 10]
    figures = [entry["validation_srcc"]["train_requirements"] for entry in selection["history"]]
    assert selection["selected_value"] == max(figures)
    assert selection["selected_step"] == selection["history"][figures.index(max(figures))]["step"]
    network, _ = load_embedded(out)
    stored, table = load_dataset(tiny_set, size=None)
    statistics = torch.from_numpy(np.load(tiny_set / "statistics.npy"))
    again = validation_checker(network, stored, statistics, table, DEFAULT_TRAIN, DEFAULT_HELD_OUT)()
    assert again["train_requirements"] == pytest.approx(selection["selected_value"], abs=1e-4)
    with pytest.raises(InputError, match="Unknown training requirement.*lpips"):
        train(tiny_set, out, steps=1, pool_size=20, visual=FEATURES, train_requirements=("ssim", "lpips"),
              log=lambda text: None)
    no_validation = tmp_path / "no-validation"
    no_validation.mkdir()
    np.save(no_validation / "images.npy", stored)
    table.assign(split=table["split"].replace("validation", "test")).to_csv(no_validation / "labels.csv", index=False)
    with pytest.raises(InputError, match="no validation photos"):
        train(no_validation, out, steps=1, pool_size=20, visual=FEATURES, validate_every=1,
              log=lambda text: None)
    with pytest.raises(InputError, match="Select checkpoints"):
        train(tiny_set, out, steps=1, pool_size=20, visual=FEATURES, select_on="test", log=lambda text: None)


def test_registry_nr_scores_join_the_statistics_and_a_source_can_be_left_out(tiny_set, tmp_path):
    """Issue #23: with ``nr_metrics`` the encoder reads the statistics and the registry NR scores, at training
    (cached per set) and at scoring time alike; ``exclude_sources`` leaves a source out of training; the
    ``mos`` requirement mixes the level's MOS proxy and SSIM's fidelity map."""
    from backend import registry
    from backend.iqa.promptiqa.features import encoder_inputs
    from backend.iqa.promptiqa.model import FeaturesConfig
    from backend.iqa.promptiqa.train import train
    from backend.iqa.promptiqa.weights import load_embedded

    visual = FeaturesConfig(nr_metrics=("piqe", "entropy"))
    stored, table = load_dataset(tiny_set, size=None)
    inputs = encoder_inputs(list(stored[:2]), visual.nr_metrics)
    assert inputs.shape == (2, COUNT + 2)
    assert inputs[0, COUNT] == pytest.approx(registry.create("piqe").score(stored[0]).score, rel=1e-5)
    card = train(tiny_set, tmp_path / "nr", steps=2, pool_size=20, groups=2, targets=2, visual=visual,
                 train_requirements=("ssim", "mos"), log=lambda text: None)
    assert (tiny_set / "nr-piqe.npy").is_file() and card["config"]["visual"]["nr_metrics"] == ("piqe", "entropy")
    network, _ = load_embedded(tmp_path / "nr")
    pixels = torch.from_numpy(stored[:2].transpose(0, 3, 1, 2).copy()).float() / 255.0
    with torch.no_grad():
        torch.testing.assert_close(network.encode_images(pixels), network.visual.project(torch.from_numpy(inputs)))
    expected = ((5 - 0.8 * table["level"]) + np.interp(table["ssim"], (0.735, 0.80, 0.86, 0.915, 0.965, 1.0),
                                                        (1.0, 1.8, 2.6, 3.4, 4.2, 5.0))) / 2
    np.testing.assert_allclose(table["mos"], expected)
    assert set(table.loc[table["split"] == "train", "source"]) == {"astronaut", "coffee"}  # keys without a folder
    fold = train(tiny_set, tmp_path / "fold", steps=1, pool_size=20, visual=FEATURES, exclude_sources=("astronaut",),
                 log=lambda text: None)
    assert fold["data"]["sources"] == ["coffee"] and fold["data"]["training_images"] == 2 * 16
    with pytest.raises(InputError, match="no training labels"):  # no training row is left
        train(tiny_set, tmp_path / "none", steps=1, pool_size=20, visual=FEATURES,
              exclude_sources=("astronaut", "coffee"), log=lambda text: None)
