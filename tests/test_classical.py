"""Classical metrics: the registry path equals pyiqa called directly (to float precision through pyiqa, within
1e-4 through our fast code -- 1e-3 for VIF, whose pyiqa value carries pyiqa's own float32 error; see
``backend/iqa/classical/fast/vif.py``); PSNR equals an independent numpy value; the setting picks the
implementation and the card says which one runs."""

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


def tolerance(name: str, implementation: str) -> dict:
    if implementation == "pyiqa":
        return {"rel": 1e-6, "abs": 1e-9}
    return {"abs": 1e-3 if name == "vif" else 1e-4, "rel": 0}


@pytest.mark.parametrize("implementation", ["fast", "pyiqa"])
@pytest.mark.parametrize("name", FULL_REFERENCE)
def test_full_reference_equals_pyiqa(name, implementation, pair):
    image, reference = pair
    ours = registry.create(name, implementation=implementation).score(image, reference).score
    assert ours == pytest.approx(pyiqa_direct(name, image, reference), **tolerance(name, implementation))


@pytest.mark.parametrize("implementation", ["fast", "pyiqa"])
@pytest.mark.parametrize("name", NO_REFERENCE)
def test_no_reference_equals_pyiqa(name, implementation, pair):
    image, _ = pair
    ours = registry.create(name, implementation=implementation).score(image).score
    assert ours == pytest.approx(pyiqa_direct(name, image), **tolerance(name, implementation))


def test_cards_say_which_implementation_runs_and_the_setting_forces_pyiqa(settings_env):
    from dataclasses import replace

    from backend.iqa.classical.fast import FAST_METRICS
    from backend.iqa.classical.fast_metric import FastMetric
    from backend.iqa.classical.pyiqa_metric import PyiqaMetric
    from backend.iqa.classical.registration import build_metric, implementation_of

    settings_env(HARMONYLAB_CLASSICAL_IMPLEMENTATION=None)
    assert {card.name for card in CLASSICAL if card.implementation == "fast"} == set(FAST_METRICS) & set(
        FULL_REFERENCE + NO_REFERENCE)
    assert isinstance(registry.create("ssim"), FastMetric) and registry.create("ssim").card.implementation == "fast"
    settings_env(HARMONYLAB_CLASSICAL_IMPLEMENTATION="pyiqa")
    assert implementation_of("ssim") == "pyiqa" and implementation_of("niqe") == "pyiqa"
    forced = build_metric(replace(registry.card("ssim"), implementation="pyiqa"))
    assert isinstance(forced, PyiqaMetric) and forced.card.implementation == "pyiqa"


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
        registry.create("ms_ssim", implementation="pyiqa").score(tiny, tiny)
    with pytest.raises(InputError, match="at least 161x161 pixels, but this one is 8x8"):
        registry.create("ms_ssim").score(tiny, tiny)
