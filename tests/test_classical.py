"""Classical metrics: the registry path equals pyiqa called directly; PSNR equals an independent numpy value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend import registry
from backend.errors import InputError
from tests.conftest import noisy, sample_photo

CLASSICAL = [card for card in registry.list_models(("iqa-fr", "iqa-nr"))
             if card.implementation in ("pyiqa", "fast") and registry.status(card.name).ready]
FULL_REFERENCE = tuple(card.name for card in CLASSICAL if card.full_reference)
NO_REFERENCE = tuple(card.name for card in CLASSICAL if not card.full_reference)


@pytest.fixture(scope="module")
def pair():
    reference = sample_photo("astronaut")[::2, ::2].copy()  # 256 x 256
    return noisy(reference, 15.0, seed=3), reference


def pyiqa_direct(name, image, reference=None):
    import pyiqa

    metric = pyiqa.create_metric(name, device="cpu")
    to_tensor = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255.0  # noqa: E731
    with torch.no_grad():
        value = metric(to_tensor(image), to_tensor(reference)) if reference is not None else metric(to_tensor(image))
    return float(value.item())


@pytest.mark.parametrize("name", FULL_REFERENCE)
def test_full_reference_equals_pyiqa(name, pair):
    image, reference = pair
    ours = registry.create(name).score(image, reference).score
    assert ours == pytest.approx(pyiqa_direct(name, image, reference), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", NO_REFERENCE)
def test_no_reference_equals_pyiqa(name, pair):
    image, _ = pair
    assert registry.create(name).score(image).score == pytest.approx(pyiqa_direct(name, image), rel=1e-6, abs=1e-9)


def test_psnr_equals_numpy(pair):
    image, reference = pair
    mse = np.mean((image.astype(np.float64) / 255 - reference.astype(np.float64) / 255) ** 2)
    expected = 10 * np.log10(1.0 / mse)
    assert registry.create("psnr").score(image, reference).score == pytest.approx(expected, abs=1e-4)


def test_directions_are_sensible(pair):
    image, reference = pair
    worse = noisy(reference, 40.0, seed=4)
    for name in FULL_REFERENCE:
        model = registry.create(name)
        better_score, worse_score = model.score(image, reference).score, model.score(worse, reference).score
        card = registry.card(name)
        assert (better_score < worse_score) == card.lower_better, name


def test_batch_equals_single(pair):
    image, reference = pair
    model = registry.create("ssim")
    other = noisy(reference, 30.0, seed=5)
    batch = [r.score for r in model.score_batch([image, other], [reference, reference])]
    single = [model.score(image, reference).score, model.score(other, reference).score]
    np.testing.assert_allclose(batch, single, rtol=1e-6)


def test_full_reference_input_errors(pair):
    image, reference = pair
    with pytest.raises(InputError, match="full-reference metric"):
        registry.create("psnr").score(image)
    with pytest.raises(InputError, match="same size"):
        registry.create("ssim").score(image, reference[:100])


def test_tiny_image_gives_clear_error():
    tiny = np.full((8, 8, 3), 120, dtype=np.uint8)
    with pytest.raises(InputError, match="could not score a 8x8 image"):
        registry.create("ms_ssim").score(tiny, tiny)
