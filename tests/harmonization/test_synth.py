"""Composite synthesis (iHarmony4 recipe): determinism by seed, region-only changes, transfer maths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.harmonization import colour, synth
from tests.conftest import sample_photo


@pytest.fixture(scope="module")
def photo_and_regions():
    from backend.segmentation.regions import RegionSegmenter

    photo = sample_photo("chelsea")[::2, ::2].copy()
    return photo, list(RegionSegmenter().segment(photo).masks)


def test_region_sample_is_deterministic_by_seed(photo_and_regions):
    photo, regions = photo_and_regions
    others = [sample_photo("coffee")[::4, ::4]]
    first = synth.region_sample(photo, regions, others, seed=7)
    again = synth.region_sample(photo, regions, others, seed=7)
    other = synth.region_sample(photo, regions, others, seed=8)
    assert np.array_equal(first.composite, again.composite) and np.array_equal(first.mask, again.mask)
    assert first.info == again.info
    assert not (np.array_equal(first.composite, other.composite) and np.array_equal(first.mask, other.mask))


def test_only_the_region_changes_and_real_is_the_photo(photo_and_regions):
    photo, regions = photo_and_regions
    sample = synth.region_sample(photo, regions, [], seed=3)
    assert np.array_equal(sample.real, photo)
    assert np.array_equal(sample.composite[~sample.mask], photo[~sample.mask])
    fmse = ((sample.composite[sample.mask].astype(float) - photo[sample.mask]) ** 2).mean()
    assert fmse > 20.0 and sample.info["transfer"] in synth.TRANSFERS
    assert 0.01 <= sample.mask.mean() <= 0.5


def test_retouch_swap_is_a_global_edit_of_the_region(photo_and_regions):
    photo, regions = photo_and_regions
    others = [sample_photo("coffee")[::4, ::4]]
    sample = synth.region_sample(photo, regions, others, seed=11, retouch_fraction=1.0)
    assert sample.info["transfer"] == "retouch" and set(sample.info["retouch"]) == {
        "exposure_stops", "temperature", "tint", "tone_curve", "saturation"}
    assert np.array_equal(sample.composite[~sample.mask], photo[~sample.mask])
    # a global edit: pixels of the same colour stay the same colour
    region, changed = photo[sample.mask].reshape(-1, 3), sample.composite[sample.mask].reshape(-1, 3)
    _, first, inverse = np.unique(region, axis=0, return_index=True, return_inverse=True)
    assert np.array_equal(changed, changed[first][inverse.ravel()])
    # fraction 0 is the donor recipe, draw for draw
    plain = synth.region_sample(photo, regions, others, seed=11)
    assert np.array_equal(plain.composite, synth.region_sample(photo, regions, others, seed=11,
                                                                retouch_fraction=0.0).composite)
    assert plain.info["transfer"] in synth.TRANSFERS


def test_retouch_edits():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3000, 3)).astype(float)
    unchanged, params = synth.retouch(pixels, rng, amount=0.0)
    assert np.allclose(unchanged, pixels, atol=1e-6) and params["saturation"] == 1.0
    unit = np.linspace(0, 1, 101)
    assert np.allclose(synth.linear_to_srgb(synth.srgb_to_linear(unit)), unit, atol=1e-9)
    assert np.isclose(synth.srgb_to_linear(np.array(0.5)), 0.21404, atol=1e-4)  # sRGB mid grey
    # one stop up doubles linear light; a positive tone curve adds contrast about mid grey
    grey = np.full((1, 3), 100.0)
    brighter = synth.linear_to_srgb(synth.srgb_to_linear(grey / 255) * 2) * 255
    assert np.allclose(synth.retouch(grey, _FixedDraws([1.0, 0, 0, 0, 0]))[0], brighter, atol=1e-6)
    curve = synth.retouch(np.array([[64.0] * 3, [128.0] * 3, [192.0] * 3]), _FixedDraws([0, 0, 0, 0.5, 0]))[0]
    assert curve[0, 0] < 64 and abs(curve[1, 0] - 128) < 1 and curve[2, 0] > 192


class _FixedDraws:
    """Stands in for a Generator: ``retouch`` draws exposure, temperature, tint, tone curve, log saturation."""

    def __init__(self, values):
        self.values = iter(values)

    def uniform(self, low, high):
        return next(self.values)


def test_stamp_sample_pastes_a_cut_out():
    photo = sample_photo("coffee")[::2, ::2].copy()
    stamp = np.zeros((40, 30, 3), dtype=np.uint8)
    stamp[..., 0] = 200
    alpha = np.zeros((40, 30), dtype=bool)
    alpha[5:35, 5:25] = True
    sample = synth.stamp_sample(photo, stamp, alpha, [sample_photo("astronaut")[::8, ::8]], seed=1)
    again = synth.stamp_sample(photo, stamp, alpha, [sample_photo("astronaut")[::8, ::8]], seed=1)
    assert np.array_equal(sample.composite, again.composite)
    assert (sample.real[sample.mask][:, 0] == 200).all()
    assert np.array_equal(sample.real[~sample.mask], photo[~sample.mask])


def test_reinhard_matches_target_statistics():
    rng = np.random.default_rng(0)
    pixels = rng.integers(40, 120, size=(5000, 3)).astype(float)
    target = rng.integers(100, 220, size=(5000, 3)).astype(float)
    moved = colour.reinhard(pixels, colour.LabStats.of(target))
    got, want = colour.LabStats.of(moved), colour.LabStats.of(target)
    assert np.allclose(got.mean, want.mean, atol=1.0) and np.allclose(got.std, want.std, rtol=0.05)
    half = colour.LabStats.of(colour.reinhard(pixels, want, strength=0.5))
    assert np.allclose(half.mean, (colour.LabStats.of(pixels).mean + want.mean) / 2, atol=1.0)


def test_mean_covariance_matches_rgb_moments():
    rng = np.random.default_rng(1)
    pixels = rng.normal(100, 20, size=(8000, 3)) @ np.array([[1, 0.3, 0], [0, 1, 0.2], [0, 0, 1]])
    target = rng.normal(150, 15, size=(8000, 3))
    moved = colour.mean_covariance(np.clip(pixels, 0, 255), target)
    assert np.allclose(moved.mean(axis=0), target.mean(axis=0), atol=1.0)
    assert np.allclose(np.cov(moved, rowvar=False), np.cov(target, rowvar=False), atol=8.0)


def test_histogram_match_matches_luma_distribution():
    from skimage import color

    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 128, size=(4000, 3)).astype(float)
    target = rng.integers(100, 256, size=(4000, 3)).astype(float)
    moved = colour.histogram_match(pixels, target)
    luma = lambda p: color.rgb2ycbcr(p.reshape(1, -1, 3) / 255.0)[..., 0].ravel()  # noqa: E731
    assert abs(np.median(luma(moved)) - np.median(luma(target))) < 3.0


def test_build_script_is_deterministic(tmp_path):
    import filecmp

    from backend.data.photos import list_photos
    from backend.errors import InputError

    try:
        if not list_photos("train") or not list_photos("validation") + list_photos("test"):
            pytest.skip("photo packages not installed")
    except InputError:
        pytest.skip("photo packages not installed")
    from backend.harmonization.train import built_by
    from scripts.build_harmonization_sets import main

    for run in ("a", "b"):
        assert main(["--out", str(tmp_path / run), "--train", "3", "--val", "2", "--side", "160",
                     "--retouch-fraction", "0.5"]) == 0
    for split in ("train", "val"):
        for folder in ("composite", "mask", "real"):
            names = sorted(p.name for p in (tmp_path / "a" / split / folder).iterdir())
            assert len(names) == (3 if split == "train" else 2)
            match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a" / split / folder, tmp_path / "b" / split / folder,
                                                       names, shallow=False)
            assert not mismatch and not errors
    build = json.loads((tmp_path / "a" / "val" / "build.json").read_text())
    assert build["retouch_fraction"] == 0.5 and "--retouch-fraction 0.5" in build["command"]
    assert built_by(tmp_path / "a" / "train") == build["command"]
    kinds = {info["transfer"] for info in json.loads((tmp_path / "a" / "train" / "manifest.json").read_text()).values()}
    assert "retouch" in kinds and kinds <= set(synth.TRANSFERS) | {"retouch"}  # the fraction reaches the samples
