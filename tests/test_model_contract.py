"""The contract of every model the registry can build here, read from the registry itself.

A newly registered model is tested as soon as its card is ``ready``: nothing to add here. Per task:

* IQA models score a small photo (and its reference / mask / prompt when the card asks for them) with a
  finite score; a full-reference model without a reference, or with one of another size, and a mask of
  the wrong size (for models that take a mask) raise :class:`InputError`;
* harmonizers return an image of the composite's size that equals the composite outside the mask, and
  refuse a mask of the wrong size or an empty one;
* comparators give five level probabilities that sum to one; segmenters give masks of the image's size.
"""

from __future__ import annotations

import numpy as np
import pytest

from backend import registry
from backend.errors import InputError
from backend.protocols import Prompt
from tests.conftest import noisy, sample_photo

SIZE = (192, 256)  # large enough for MS-SSIM's five scales, small enough to keep every model quick


def ready_cards(*tasks: str):
    return [pytest.param(card, id=card.name) for card in registry.list_models(tasks) if registry.status(card.name).ready]


@pytest.fixture(scope="module")
def inputs():
    photo = sample_photo("astronaut")[: 2 * SIZE[0]:2, : 2 * SIZE[1]:2].copy()
    image = noisy(photo, 10.0, seed=1)
    mask = np.zeros(SIZE, dtype=bool)
    mask[50:140, 70:190] = True
    prompt_images = tuple(noisy(photo, sigma, seed=int(sigma)) for sigma in (2.0, 8.0, 16.0, 32.0))
    prompt = Prompt(prompt_images, np.array([4.0, 3.0, 2.0, 1.0]))
    return photo, image, mask, prompt


def score(model, card, image, reference, mask, prompt):
    if card.needs_prompt:
        return float(model.score_images([image], prompt)[0])
    return model.score(image, reference if card.full_reference else None, mask if card.needs_mask or card.uses_mask else None).score


@pytest.mark.parametrize("card", ready_cards("iqa-fr", "iqa-nr"))
def test_iqa_model_scores_finitely_and_refuses_bad_inputs(card, inputs):
    photo, image, mask, prompt = inputs
    model = registry.create(card.name)
    value = score(model, card, image, photo, mask, prompt)
    assert np.isfinite(value), (card.name, value)
    if card.full_reference:
        with pytest.raises(InputError, match="reference"):
            model.score(image, None, mask)
        with pytest.raises(InputError, match="same size"):
            model.score(image, photo[:-8], mask)
    if card.needs_mask or card.uses_mask:
        with pytest.raises(InputError, match="mask"):
            model.score(image, photo if card.full_reference else None, mask[:-8])
    if card.needs_mask:
        with pytest.raises(InputError, match="mask"):
            model.score(image, photo if card.full_reference else None, None)


@pytest.mark.parametrize("card", ready_cards("harmonize"))
def test_harmonizer_keeps_the_background_and_refuses_bad_masks(card, inputs):
    photo, _, mask, _ = inputs
    composite = photo.copy()
    composite[mask] = np.clip(composite[mask].astype(int) + (40, 0, -30), 0, 255).astype(np.uint8)
    model = registry.create(card.name)
    result = model.harmonize(composite, mask)
    assert result.image.shape == composite.shape and result.image.dtype == np.uint8
    np.testing.assert_array_equal(result.image[~mask], composite[~mask])
    with pytest.raises(InputError, match="same size"):
        model.harmonize(composite, mask[:-8])
    with pytest.raises(InputError, match="empty"):
        model.harmonize(composite, np.zeros_like(mask))


@pytest.mark.parametrize("card", ready_cards("comparator"))
def test_comparator_gives_level_probabilities(card, inputs):
    photo, image, _, _ = inputs
    probabilities = np.asarray(registry.create(card.name).compare(photo, image))
    assert probabilities.shape == (5,) and np.all(probabilities >= 0)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("card", ready_cards("segment"))
def test_segmenter_gives_masks_of_the_image_size(card, inputs):
    photo = inputs[0]
    segmentation = registry.create(card.name).segment(photo)
    assert len(segmentation) >= 1 and len(segmentation.scores) == len(segmentation.masks)
    assert all(m.shape == photo.shape[:2] and m.dtype == bool for m in segmentation.masks)


def test_the_contract_covers_every_task():
    tested = {card.task for card in registry.list_models() if registry.status(card.name).ready}
    assert tested == set(registry.TASKS)
