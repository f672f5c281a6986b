"""The VLM plumbing of Dog-IQA's standard-guided scoring with a tiny random LLaVA built offline."""

import numpy as np
import pytest

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.dogiqa.standard import (
    STANDARD_WORDS,
    parse_answer,
    probabilities_from_logits,
    system_prompt,
    user_prompt,
)
from tests.dogiqa.tiny_vlm import NO_SYSTEM_TEMPLATE, build_tiny_llava


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("dogiqa-tiny-llava"))


@pytest.fixture(scope="module")
def scorer(tiny_dir):
    from backend.iqa.dogiqa.standard import VLMStandardScorer

    return VLMStandardScorer(str(tiny_dir), k=7, device="cpu")


def pictures(seed, count=3):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (24 + 8 * i, 32, 3), dtype=np.uint8) for i in range(count)]


def test_the_paper_prompt_for_k7_and_standards_for_every_k():
    assert system_prompt(7) == (
        "You are a helpful assistant to evaluate image quality. You will be given standards for each quality level. "
        "The quality standard is listed as follows: 7: Perfect, 6: Excellent, 5: Good, 4: Fair, 3: Bad, 2: Poor, "
        "1: Very Bad. The higher the image quality is, the higher the score should be.")
    assert user_prompt(7) == "Please evaluate the quality of the image and score in [1, 2, 3, 4, 5, 6, 7]."
    for k in (3, 5, 9):
        assert len(STANDARD_WORDS[k]) == k and f"{k}: {STANDARD_WORDS[k][-1]}" in system_prompt(k)
        assert user_prompt(k).endswith(f"{k}].")
    with pytest.raises(InputError, match="K = 4"):
        system_prompt(4)


def test_non_numeric_answers_score_1():
    assert parse_answer("5", 7) == 5 and parse_answer(" 6.", 7) == 6 and parse_answer("Score: 3", 7) == 3
    assert parse_answer("Excellent", 7) == 1 and parse_answer("", 7) == 1 and parse_answer("8", 7) == 1


def test_digit_tokens_and_prompt_with_system_turn(scorer):
    tokenizer = scorer.vlm.tokenizer
    assert scorer.token_ids == [tokenizer.convert_tokens_to_ids(str(d)) for d in range(1, 8)]
    prompt = scorer.vlm.prompt(scorer.segments)
    assert prompt.startswith("SYSTEM : You are a helpful assistant")
    assert prompt.count("<image>") == 1 and prompt.index("USER : <image>") > prompt.index("1: Very Bad")
    assert prompt.endswith("[1, 2, 3, 4, 5, 6, 7]. ASSISTANT : ")


def test_probabilities_are_the_softmax_of_the_digit_logits_at_the_answer_position(scorer):
    import torch

    image = pictures(0, 1)[0]
    vlm = scorer.vlm
    inputs = vlm.processor(text=[vlm.prompt(scorer.segments)], images=[[image]], return_tensors="pt")
    with torch.inference_mode():
        manual = vlm.model(**inputs).logits[0, -1, scorer.token_ids].numpy()
    result = scorer.levels([image], readout="weighted")[0]
    expected = np.exp(manual - manual.max()) / np.exp(manual - manual.max()).sum()
    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-4, atol=1e-6)
    assert sum(result.probabilities) == pytest.approx(1.0)
    assert result.level == int(np.argmax(expected)) + 1
    assert result.weighted == pytest.approx(float(expected @ np.arange(1, 8)))
    assert result.value("argmax") == result.level and result.value("weighted") == result.weighted


def test_argmax_and_weighted_differ_and_batches_equal_singles(scorer):
    images = pictures(1)
    batch = scorer.levels(images)
    singles = [scorer.levels([image])[0] for image in images]
    for one, many in zip(singles, batch, strict=True):
        np.testing.assert_allclose(one.probabilities, many.probabilities, rtol=1e-4, atol=1e-6)
    probabilities = probabilities_from_logits(np.array([[0.0, 2.0, 1.9]]))
    from backend.iqa.dogiqa.standard import level_scores

    (three,) = level_scores(probabilities)
    assert three.level == 2 and 2.0 < three.weighted < 2.5  # mass on 3 pulls the weighted score above the argmax


def test_generated_readout_applies_the_papers_rule(scorer):
    image = pictures(2, 1)[0]
    (result,) = scorer.levels([image], readout="generated")
    assert isinstance(result.answer, str)
    assert result.extra["generated_level"] == parse_answer(result.answer, 7)
    assert result.value("generated") == result.extra["generated_level"]


def test_template_without_system_turn_gets_the_standard_in_the_user_turn(tmp_path):
    from backend.iqa.dogiqa.standard import VLMStandardScorer

    folder = build_tiny_llava(tmp_path / "nosystem", chat_template=NO_SYSTEM_TEMPLATE)
    scorer = VLMStandardScorer(str(folder), k=5, device="cpu")
    prompt = scorer.vlm.prompt(scorer.segments)
    assert prompt.startswith("USER : You are a helpful assistant") and "5: Excellent" in prompt
    assert len(scorer.levels(pictures(3, 1))[0].probabilities) == 5


def test_dogiqa_end_to_end_with_the_tiny_vlm(tiny_dir):
    from backend.iqa.dogiqa.aggregate import aggregate
    from backend.iqa.dogiqa.service import analyse_arrays
    from tests.conftest import sample_photo

    image = np.ascontiguousarray(sample_photo("astronaut")[::4, ::4])
    result, regions = analyse_arrays([image], f"vlm:{tiny_dir}", readout="weighted", c_max=20)[0]
    details = result.details
    assert details["scorer"] == f"vlm:{tiny_dir}" and len(regions) == len(details["regions"]) >= 1
    expected = aggregate(details["global"]["weighted"], [r["weighted"] for r in details["regions"]],
                         [r["area"] for r in details["regions"]], 7, 20, "paper")
    assert result.score == pytest.approx(expected.final)
    assert all(len(r["probabilities"]) == 7 for r in details["regions"])


def test_missing_vlm_weights_are_reported(monkeypatch, settings_env):
    from backend.iqa.dogiqa.service import get_model

    settings_env(HF_HUB_OFFLINE="1", HARMONYLAB_DOGIQA_VLM=None)
    with pytest.raises(ModelUnavailableError, match="Qwen/Qwen2-VL-2B-Instruct"):
        get_model("dogiqa-vlm")
    with pytest.raises(ModelUnavailableError, match="not in the local hub cache"):
        get_model("vlm:someone/not-cached@0123456789abcdef")
    with pytest.raises(InputError, match="names no model_id"):
        get_model("vlm:")
