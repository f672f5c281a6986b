"""HarmonyIQA VLM plumbing with tiny models built offline: LoRA targets per architecture, prompts and tokens."""

from __future__ import annotations

import numpy as np
import pytest

from backend.errors import InputError
from backend.iqa.harmonyiqa.vlm.model import (
    ANSWER_PREFIX,
    HarmonyIQAVLM,
    answer_sentence,
    find_part,
    lora_targets,
    parse_text_score,
    score_text,
)
from tests.harmonyiqa.conftest import TOKENS_PER_IMAGE


def picture(seed: int, shape=(20, 24, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture(scope="module")
def models(tiny_vlm_dir):
    return {mode: HarmonyIQAVLM(str(tiny_vlm_dir), None, mode, device="cpu") for mode in ("nr", "fr")}


def tiny_idefics3():
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration

    config = Idefics3Config(
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        text_config=dict(model_type="llama", vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2),
        scale_factor=2, image_token_id=5)
    return Idefics3ForConditionalGeneration(config)


def tiny_qwen2_vl():
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    config = Qwen2VLConfig(
        vision_config=dict(depth=2, embed_dim=16, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=4,
                           spatial_merge_size=2, temporal_patch_size=2),
        text_config=dict(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, bos_token_id=0, eos_token_id=1,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}))
    return Qwen2VLForConditionalGeneration(config)


@pytest.mark.parametrize("build, vision, projector, llm", [
    (tiny_idefics3, "model.vision_model.encoder.layers.", "model.connector", "model.text_model.layers."),
    (tiny_qwen2_vl, "model.visual.blocks.", "model.visual.merger", "model.language_model.layers."),
])
def test_lora_targets_cover_vision_blocks_and_llm_but_not_the_projector(build, vision, projector, llm):
    import torch

    model = build()
    targets = lora_targets(model)
    linear = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert set(targets) <= linear
    vision_linear = {n for n in linear if n.startswith(vision)}
    llm_linear = {n for n in linear if n.startswith(llm)}
    assert vision_linear and llm_linear
    assert vision_linear | llm_linear == set(targets)  # every block linear of both, nothing else
    assert find_part(model, ("multi_modal_projector", "connector", "visual.merger"))[0] == projector
    assert not any(t.startswith(projector + ".") for t in targets) and "lm_head" not in targets
    assert set(lora_targets(model, vision=False)) == llm_linear
    with pytest.raises(InputError, match="at least one place"):
        lora_targets(model, vision=False, llm=False)


def test_trainable_parts_frozen_base_and_projector(models):
    model = models["nr"]
    assert model.projector_name == "model.multi_modal_projector"
    trainable = {n for n, p in model.model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in model.model.named_parameters() if "lora_" in n or ".multi_modal_projector." in n}
    assert any("vision_tower" in n and "lora_A" in n for n in trainable)
    assert any("language_model" in n and "lora_A" in n for n in trainable)
    assert not any("vision_tower" in n and "lora_" not in n for n in trainable)  # vision base frozen
    linear_layers = [m for m in model.decoder if hasattr(m, "weight")]
    assert len(linear_layers) == 2 and linear_layers[-1].out_features == 1


def test_fr_and_nr_inputs_shape_correctly(models):
    image, reference = picture(0), picture(1)
    for mode, images in (("nr", 1), ("fr", 2)):
        model = models[mode]
        encoded = model.encode(image, reference, normalised=0.25)
        ids = encoded["inputs"]["input_ids"][0]
        image_id = model.tokenizer.convert_tokens_to_ids("<image>")
        assert int((ids == image_id).sum()) == images * TOKENS_PER_IMAGE
        assert tuple(encoded["inputs"]["pixel_values"].shape[:1]) == (images,)
        answer = model.tokenizer.convert_ids_to_tokens(ids[encoded["labels"][0] != -100].tolist())
        assert answer == model.tokenizer.tokenize(answer_sentence(0.25)) + ["</s>"]
        assert model.tokenizer.convert_ids_to_tokens(int(ids[encoded["score_index"]])) == "is"
    prompt = models["fr"].prompt_texts()[0]
    assert prompt.index("Harmonized image: <image>") < prompt.index("Reference photo: <image>")


def test_hidden_state_before_the_score_is_the_same_with_and_without_the_answer(models):
    import torch

    model = models["fr"]
    image, reference = picture(2), picture(3)
    with torch.inference_mode():
        full = model.score_hidden(model.encode(image, reference, normalised=0.9))
        prefix_only = model.score_hidden(model.encode(image, reference))
    np.testing.assert_allclose(full.numpy(), prefix_only.numpy(), rtol=1e-5, atol=1e-6)
    assert model.prompt_texts()[1].endswith(ANSWER_PREFIX)


def test_stage_losses_are_finite_and_differentiable(models):
    model = models["nr"]
    loss = model.text_loss(model.encode(picture(4), None, normalised=0.5))
    assert loss.ndim == 0 and np.isfinite(float(loss.detach())) and loss.requires_grad
    assert model.decode(model.encode(picture(4))).shape == (1,)


def test_score_text_round_trip():
    assert score_text(0.0) == "1.0" and score_text(1.0) == "5.0" and score_text(0.675) == "3.7"
    assert score_text(1.7) == "5.0"  # clipped to the rating scale
    assert parse_text_score("3 . 7 .") == pytest.approx(0.675)
    assert parse_text_score(" 4.2.") == pytest.approx(0.8)
    assert np.isnan(parse_text_score("excellent"))


def test_bad_inputs(models):
    with pytest.raises(InputError, match="reference"):
        models["fr"].score(picture(5))
    with pytest.raises(InputError, match="No image"):
        models["nr"].score(None)
    with pytest.raises(InputError, match="Unknown HarmonyIQA mode"):
        HarmonyIQAVLM("unused", None, "both")
