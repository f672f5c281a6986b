"""The VLM comparator's plumbing with a tiny random LLaVA built offline: level tokens, logits, two images."""

import numpy as np
import pytest

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.compare2score.levels import ANSWER_PREFIX, LEVELS
from tests.compare2score.tiny_vlm import TOKENS_PER_IMAGE, build_tiny_llava


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def comparator(tiny_model_dir):
    from backend.iqa.compare2score.vlm_comparator import VLMComparator

    return VLMComparator(str(tiny_model_dir), device="cpu")


def pictures(seed, count=3, size=20):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size + 4 * k, 3), dtype=np.uint8) for k in range(count)]


def test_level_token_ids_and_prompt(comparator):
    tokenizer = comparator.vlm.tokenizer
    assert comparator.token_ids == [tokenizer.convert_tokens_to_ids(word) for word in LEVELS]
    prompt = comparator.vlm.prompt(comparator.segments, ANSWER_PREFIX)
    assert prompt.count("<image>") == 2
    assert prompt.index("first image <image>") < prompt.index("second image <image>")
    assert prompt.endswith("ASSISTANT : " + ANSWER_PREFIX)


def test_logits_at_the_answer_position_become_level_probabilities(comparator):
    import torch

    first, second, _ = pictures(0)
    vlm = comparator.vlm
    text = vlm.prompt(comparator.segments, ANSWER_PREFIX)
    inputs = vlm.processor(text=[text], images=[[first, second]], return_tensors="pt")
    image_id = vlm.tokenizer.convert_tokens_to_ids("<image>")
    assert int((inputs["input_ids"] == image_id).sum()) == 2 * TOKENS_PER_IMAGE  # both images expanded
    with torch.inference_mode():
        manual = vlm.model(**inputs).logits[0, -1, comparator.token_ids].numpy()
    probabilities = comparator.compare(first, second)
    expected = np.exp(manual - manual.max()) / np.exp(manual - manual.max()).sum()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-7)
    assert probabilities.shape == (5,) and probabilities.sum() == pytest.approx(1.0)


def test_batches_equal_single_pairs_and_image_order_matters(comparator):
    a, b, c = pictures(1)
    batch = comparator.compare_batch([a, b, a], [b, c, c])
    singles = np.stack([comparator.compare(a, b), comparator.compare(b, c), comparator.compare(a, c)])
    np.testing.assert_allclose(batch, singles, rtol=1e-4, atol=1e-6)
    assert not np.allclose(comparator.compare(a, b), comparator.compare(b, a))


def test_vlm_comparator_runs_compare2score_end_to_end(comparator):
    from backend.iqa.compare2score.anchors import anchor_set_from_arrays
    from backend.iqa.compare2score.scoring import score_images

    anchors = anchor_set_from_arrays(pictures(2), mos=[1.0, 3.0, 5.0], mos_std=[0.3] * 3)
    result = score_images(comparator, anchors, pictures(3, count=2))
    assert all(np.isfinite(r.score) for r in result)
    assert np.array(result[0].details["P"]).shape == (4, 4)


def test_temperature_flattens(tiny_model_dir):
    from backend.iqa.compare2score.vlm_comparator import VLMComparator

    flat = VLMComparator(str(tiny_model_dir), device="cpu", temperature=100.0)
    a, b, _ = pictures(4)
    assert np.ptp(flat.compare(a, b)) < 0.05


def test_remote_code_needs_opt_in_and_missing_weights_are_reported(monkeypatch, settings_env):
    from backend.iqa.compare2score.vlm_comparator import q_future_comparator

    settings_env(HF_HUB_OFFLINE="1")
    with pytest.raises(ModelUnavailableError, match="trust_remote_code"):
        q_future_comparator(trust_remote_code=False)
    with pytest.raises(ModelUnavailableError, match="q-future/Compare2Score"):
        q_future_comparator(trust_remote_code=True)
    from backend.iqa.compare2score.service import get_comparator

    with pytest.raises(ModelUnavailableError, match="not in the local hub cache"):
        get_comparator("vlm:someone/not-cached-model@0123456789abcdef")
    with pytest.raises(InputError):
        get_comparator("vlm:")
