"""The shipped HarmonyIQA-lite models: ranking of held-out composites, input checks, weights round trip.

Held-out set: the four scikit-image photos (never in the Debian training photos), one offline-segmenter
region each made into a composite by ``backend.harmonization.synth``, and three versions of each -- the
composite, a half-harmonized interpolation and the ground truth -- 12 images ranked by their true fMSE.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend import registry
from backend.errors import InputError
from backend.iqa.harmonyiqa.lite_data import interpolate
from backend.scaling.correlation import srcc

# Measured on this set with the shipped weights (see the JSON cards): SRCC against -fMSE.
MEASURED = {("harmonyiqa-lite-nr", False): 0.185, ("harmonyiqa-lite-nr", True): 0.299,
            ("harmonyiqa-lite-fr", False): 0.975, ("harmonyiqa-lite-fr", True): 0.975}
MARGIN = 0.15


def held_out_items() -> list[tuple]:
    """(image, ground truth, mask, fMSE) of the 12 held-out images (module docstring)."""
    from backend.data.photos import skimage_photos
    from backend.harmonization import synth
    from backend.harmonization.metrics import harmonization_errors
    from backend.segmentation.regions import RegionSegmenter

    photos = skimage_photos(max_side=256)
    segmenter = RegionSegmenter()
    items = []
    for index, (name, photo) in enumerate(sorted(photos.items())):
        others = [p[::4, ::4] for n, p in photos.items() if n != name]
        regions = list(segmenter.segment(photo).masks)
        sample = next(s for s in (synth.region_sample(photo, regions, others, seed=100 + index + 10 * k)
                                  for k in range(5)) if s is not None)
        for strength in (0.0, 0.5, 1.0):
            image = interpolate(sample.composite, sample.real, sample.mask, strength)
            items.append((image, sample.real, sample.mask, harmonization_errors(image, sample.real, sample.mask).fmse))
    return items


@pytest.fixture(scope="module")
def held_out():
    return held_out_items()


def scores_of(name: str, items, with_mask: bool) -> np.ndarray:
    model = registry.create(name)
    fr = registry.card(name).full_reference
    return np.array([model.score(image, real if fr else None, mask if with_mask else None).score
                     for image, real, mask, _ in items])


def test_cards_are_mask_free_and_ready():
    for name, task in (("harmonyiqa-lite-nr", "iqa-nr"), ("harmonyiqa-lite-fr", "iqa-fr")):
        card = registry.card(name)
        assert card.task == task and not card.needs_mask and not card.needs_prompt and not card.lower_better
        assert card.shipped_weights and registry.status(name).ready


@pytest.mark.parametrize("name,with_mask", list(MEASURED))
def test_shipped_models_rank_held_out_composites_by_true_error(held_out, name, with_mask):
    scores = scores_of(name, held_out, with_mask)
    fmse = np.array([item[3] for item in held_out])
    assert np.all((scores >= 0) & (scores <= 100))
    assert srcc(scores, -fmse) >= MEASURED[(name, with_mask)] - MARGIN


def test_fr_model_prefers_the_ground_truth_to_its_composite(held_out):
    model = registry.create("harmonyiqa-lite-fr")
    for composite, real, _mask, _ in held_out[0::3]:
        assert model.score(real, real).score > model.score(composite, real).score


def test_fr_refuses_a_reference_of_another_size(held_out):
    image, real, _, _ = held_out[0]
    with pytest.raises(InputError, match="same size"):
        registry.create("harmonyiqa-lite-fr").score(image, real[:-8])
    with pytest.raises(InputError, match="give a reference"):
        registry.create("harmonyiqa-lite-fr").score(image)


def test_bad_inputs_give_clear_errors(held_out):
    image, real, mask, _ = held_out[0]
    model = registry.create("harmonyiqa-lite-nr")
    with pytest.raises(InputError, match="8-bit RGB"):
        model.score(image[..., 0])
    with pytest.raises(InputError, match="8-bit RGB"):
        model.score(image.astype(np.float32))
    with pytest.raises(InputError, match="same size"):
        model.score(image, mask=mask[:-4])
    with pytest.raises(InputError, match="empty"):
        model.score(image, mask=np.zeros_like(mask))
    with pytest.raises(InputError, match="at least 8x8"):
        model.score(image[:4, :4])


def test_nr_ignores_a_reference_and_uses_the_mask(held_out):
    image, real, mask, _ = held_out[0]
    model = registry.create("harmonyiqa-lite-nr")
    plain = model.score(image)
    assert model.score(image, real).score == plain.score and not plain.details["mask_used"]
    masked = model.score(image, mask=mask)
    assert masked.details["mask_used"] and masked.score != plain.score


def test_saved_and_reloaded_weights_score_identically(held_out, tmp_path):
    from backend.iqa.harmonyiqa.lite import LiteScorer, load_model, save_model

    for name in ("harmonyiqa-lite-nr", "harmonyiqa-lite-fr"):
        shipped = registry.create(name)
        network, card = load_model(registry.ASSETS_DIR / registry.card(name).shipped_weights[0])
        path = save_model(network, tmp_path / f"{name}.safetensors", card)
        copy = LiteScorer(registry.card(name), path)
        fr = registry.card(name).full_reference
        for image, real, mask, _ in held_out[:4]:
            ref = real if fr else None
            assert copy.score(image, ref, mask).score == shipped.score(image, ref, mask).score
            assert copy.score(image, ref).score == shipped.score(image, ref).score


def test_weights_of_the_other_mode_are_refused():
    from backend.errors import ModelUnavailableError
    from backend.iqa.harmonyiqa.lite import LiteScorer
    from backend.iqa.harmonyiqa.lite_registration import FR_WEIGHTS

    with pytest.raises(ModelUnavailableError, match="FR model"):
        LiteScorer(registry.card("harmonyiqa-lite-nr"), registry.ASSETS_DIR / FR_WEIGHTS)
    with pytest.raises(ModelUnavailableError, match="missing"):
        LiteScorer(registry.card("harmonyiqa-lite-nr"), registry.ASSETS_DIR / "harmonyiqa" / "absent.safetensors")
