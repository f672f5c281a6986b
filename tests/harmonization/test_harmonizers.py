"""Harmonizers behind one interface: bad inputs, baselines, semantic routing and the shipped network on a
small validation set synthesised here from scikit-image photos (iHarmony4 recipe, metrics of metrics.py)."""

from __future__ import annotations

import numpy as np
import pytest

from backend import registry
from backend.errors import InputError
from backend.harmonization.metrics import harmonization_errors, summarize
from tests.conftest import sample_photo

METHODS = tuple(card.name for card in registry.list_models("harmonize") if registry.status(card.name).ready)


@pytest.fixture(scope="module")
def validation_set():
    """20 composites from the five scikit-image colour photos (4 seeds each), deterministic."""
    from backend.data.photos import skimage_photos
    from backend.harmonization.synth import region_sample
    from backend.segmentation.regions import RegionSegmenter

    photos = skimage_photos(max_side=256)
    segmenter = RegionSegmenter()
    samples = []
    for index, (name, photo) in enumerate(sorted(photos.items())):
        others = [p[::4, ::4] for n, p in sorted(photos.items()) if n != name]
        regions = list(segmenter.segment(photo).masks)
        for seed in range(4):
            sample = region_sample(photo, regions, others, seed=1000 * index + seed)
            if sample is not None:
                samples.append(sample)
    assert len(samples) >= 16
    return samples


@pytest.fixture(scope="module")
def fmse_by_method(validation_set):
    table = {}
    for name in METHODS:
        model = registry.create(name)
        errors = [harmonization_errors(model.harmonize(s.composite, s.mask).image, s.real, s.mask) for s in validation_set]
        table[name] = summarize(errors)["all"]["fmse"]
    print("fMSE on the scikit-image validation set:", {k: round(v, 1) for k, v in table.items()})
    return table


def test_every_harmonizer_is_registered_and_ready():
    cards = {card.name: card for card in registry.list_models("harmonize")}
    assert set(METHODS) == {"composite", "reinhard", "histogram", "semantic-routing", "outline-inverse", "srh-tiny"}
    assert set(METHODS) <= set(cards) and "srh-full" in cards
    for name in METHODS:
        assert registry.status(name).ready, (name, registry.status(name))
    assert registry.status("srh-full").state == "unavailable"


def test_semantic_routing_lowers_fmse(fmse_by_method):
    # measured: 1110 vs 1270 (0.87 x the composite)
    assert fmse_by_method["semantic-routing"] < 0.95 * fmse_by_method["composite"]


def test_network_lowers_fmse_and_beats_every_baseline(fmse_by_method):
    # measured: 1260 vs composite 1270 (0.99 x), Reinhard 4308, histogram 4889; it does NOT beat the
    # training-free routing (1110) -- reported, not asserted the other way
    network = fmse_by_method["srh-tiny"]
    assert network < fmse_by_method["composite"]
    for baseline in ("composite", "reinhard", "histogram"):
        assert network < fmse_by_method[baseline], baseline


def test_global_reinhard_raises_fmse_on_these_composites(fmse_by_method):
    # reported, not hidden: matching the whole background's statistics moves a region away from its own colours
    assert fmse_by_method["reinhard"] > fmse_by_method["composite"]


@pytest.mark.parametrize("name", METHODS)
def test_background_is_untouched_and_details(name, validation_set):
    sample = validation_set[0]
    result = registry.create(name).harmonize(sample.composite, sample.mask)
    assert result.image.shape == sample.composite.shape and result.image.dtype == np.uint8
    assert np.array_equal(result.image[~sample.mask], sample.composite[~sample.mask])
    if name in ("semantic-routing", "srh-tiny"):
        details = result.details
        similarity = details["similarity_map"]
        assert similarity.shape == sample.mask.shape and similarity.min() >= 0 and similarity.max() <= 1
        assert (similarity[sample.mask] == 1).all()
        assert len(details["instances"]) == len(details["instance_similarity"]) >= 1
        for instance, value in zip(details["instances"], details["instance_similarity"], strict=True):
            assert not (instance & sample.mask).any() and np.allclose(similarity[instance], value)


def test_routing_prefers_instances_that_look_like_the_foreground():
    from backend.harmonization.similarity import instance_similarity

    rng = np.random.default_rng(0)
    image = np.zeros((96, 96, 3), dtype=np.uint8)
    stripes = (np.indices((96, 96))[1] // 3 % 2).astype(bool)
    noise = rng.integers(0, 255, size=(96, 96), dtype=np.uint8)
    image[:48] = np.where(stripes[:48, :, None], 200, 40)  # striped half
    image[48:] = noise[48:, :, None]  # noisy half
    foreground = np.zeros((96, 96), dtype=bool)
    foreground[10:38, 10:38] = True
    image[foreground] = np.where(stripes[foreground][:, None], [250, 50, 50], [90, 10, 10])  # red stripes
    halves = [np.arange(96)[:, None].repeat(96, 1) < 48, np.arange(96)[:, None].repeat(96, 1) >= 48]
    routed = instance_similarity(image, foreground, halves)
    assert routed.similarity[0] > routed.similarity[1] + 0.2


BAD_INPUTS = [
    (lambda img, m: (img, m[:-1]), "same size"),
    (lambda img, m: (img, np.zeros_like(m)), "empty"),
    (lambda img, m: (img, np.ones_like(m)), "whole image"),
    (lambda img, m: (np.zeros((10000, 20, 3), np.uint8), np.eye(10000, 20, dtype=bool)), "at most 4096"),
    (lambda img, m: (img.astype(np.float32), m), "8-bit"),
]


@pytest.mark.parametrize("make, message", BAD_INPUTS)
@pytest.mark.parametrize("name", ["composite", "semantic-routing", "srh-tiny"])
def test_bad_inputs_are_clear_errors(name, make, message):
    image = sample_photo("coffee")[::4, ::4].copy()
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[20:60, 30:90] = True
    composite, bad_mask = make(image, mask)
    with pytest.raises(InputError, match=message):
        registry.create(name).harmonize(composite, bad_mask)


def test_service_checks_reference_and_methods(tmp_path):
    from backend.harmonization.service import harmonize_many

    image = sample_photo("coffee")[::4, ::4].copy()
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[20:60, 30:90] = True
    with pytest.raises(InputError, match="No harmonizer"):
        harmonize_many(image, mask, [])
    with pytest.raises(InputError, match="not a harmonizer"):
        harmonize_many(image, mask, ["psnr"])
    with pytest.raises(InputError, match="reference"):
        harmonize_many(image, mask, ["composite"], reference=image[:-2])
    with pytest.raises(InputError, match="10000x10000"):
        harmonize_many(np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (10000, 10000, 3)), mask, ["composite"])
    _, _, results = harmonize_many(image, mask, ["composite", "reinhard"], reference=image)
    assert [r.method for r in results] == ["composite", "reinhard"] and results[0].errors["fmse"] == 0.0


def test_similarity_overlay_picture(validation_set):
    from backend.harmonization.overlay import similarity_overlay

    sample = validation_set[0]
    result = registry.create("semantic-routing").harmonize(sample.composite, sample.mask)
    details = result.details
    picture = similarity_overlay(sample.composite, sample.mask, details["similarity_map"], details["instances"], stretch=True)
    assert picture.shape == sample.composite.shape and picture.dtype == np.uint8
    assert (picture[sample.mask] == 255).all(axis=1).any(), "the foreground outline is drawn in white"


def test_service_reports_failing_methods_and_works_at_a_working_size(tmp_path):
    """Issue #22: srh-full (no weights) is a row with its reason beside the other results; a composite above
    the working size is harmonized there and the result is carried back to its own size."""
    from PIL import Image

    from backend.harmonization.service import full_size_result, harmonize_run

    image = np.repeat(np.repeat(sample_photo("coffee"), 2, axis=0), 2, axis=1)  # 1200 x 800
    mask = np.zeros(image.shape[:2], dtype=bool)
    mask[200:600, 300:900] = True
    Image.fromarray(image).save(tmp_path / "composite.jpg", quality=95)
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    run = harmonize_run(tmp_path / "composite.jpg", tmp_path / "mask.png", ["reinhard", "srh-full"],
                        failures="report", working_pixels=300 * 200)
    assert run.working_size == (300, 200) and run.original_size == (1200, 800) and run.reduced
    assert "working size" in run.notes[0]
    good, missing = run.results
    assert good.result is not None and not good.error
    assert missing.result is None and "srh-full" in missing.error
    full = full_size_result(tmp_path / "composite.jpg", tmp_path / "mask.png", run, good.result.image)
    composite = np.asarray(Image.open(tmp_path / "composite.jpg"))
    assert full.shape == composite.shape
    np.testing.assert_array_equal(full[~mask], composite[~mask])  # the background keeps its full detail
    with pytest.raises(InputError, match="No harmonizer could run"):
        harmonize_run(tmp_path / "composite.jpg", tmp_path / "mask.png", ["srh-full"], failures="report")
    with pytest.raises(Exception, match="srh-full"):  # the command line stops at the first problem
        harmonize_run(tmp_path / "composite.jpg", tmp_path / "mask.png", ["srh-full"])
