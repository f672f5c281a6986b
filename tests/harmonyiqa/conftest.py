"""Shared fixtures of the HarmonyIQA tests: tiny random VLMs built offline (no download) and small images.

The tiny LLaVA is ``tests/tiny_vlm.py``'s over the HarmonyIQA prompt and answer words and single digits
(16 px images, 4 image tokens each, LLaVA's 2-layer MLP projector, a one-layer Llama). The tiny Idefics3 has
the architecture of the default base (SmolVLM): SigLIP-style vision encoder, pixel-shuffle connector,
Llama text model, Idefics3 processor (4 image tokens per 32 px view; image splitting adds 2x2 tiles). The
tiny Qwen2-VL has its vision blocks with the merger MLP as projector and its own processor (dynamic
resolution: image tokens = patches of ``image_grid_thw`` / 4).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.tiny_vlm import TOKENS_PER_IMAGE
from tests.tiny_vlm import build_tiny_llava as build_llava
from tests.tiny_vlm import word_tokenizer as shared_tokenizer

WORDS = ("USER ASSISTANT : Harmonized image Reference photo How well is this composite harmonized ? Judge whether "
         "the foreground matches background in colour and lighting , content looks authentic details are "
         "preserved . Give a harmonization quality score from ( bad ) to excellent given real reference The").split()

__all__ = ["TOKENS_PER_IMAGE"]


def word_tokenizer(specials: list[str], extra_words: tuple[str, ...] = (), **special_tokens):
    """The shared word-level tokenizer over the HarmonyIQA prompt words (and a model's own role words)."""
    return shared_tokenizer(WORDS + list(extra_words), specials, **special_tokens)


def build_tiny_llava(folder: Path, seed: int = 0) -> Path:
    return build_llava(folder, WORDS, seed, head_std=0.3)


IDEFICS3_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% else %} {{ part['text'] }}{% endif %}"
    "{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}")
IDEFICS3_TOKENS_PER_VIEW = 4


def build_tiny_idefics3(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessor,
        Idefics3Processor,
    )

    specials = ["<pad>", "<unk>", "<|im_start|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>",
                "<global-img>"]
    tokenizer, vocab = word_tokenizer(
        specials, ("User", "Assistant"), bos_token="<|im_start|>", eos_token="<end_of_utterance>",
        extra_special_tokens={"image_token": "<image>", "fake_image_token": "<fake_token_around_image>",
                              "global_image_token": "<global-img>", "end_of_utterance_token": "<end_of_utterance>"})
    image_processor = Idefics3ImageProcessor(size={"longest_edge": 64}, max_image_size={"longest_edge": 32})
    processor = Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer,
                                  image_seq_len=IDEFICS3_TOKENS_PER_VIEW, chat_template=IDEFICS3_TEMPLATE)
    config = Idefics3Config(
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=32, patch_size=8),
        text_config=dict(model_type="llama", vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, pad_token_id=0),
        scale_factor=2, image_token_id=vocab["<image>"], pad_token_id=0)
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(config)
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 0.3)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


QWEN2_VL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ part['text'] }} {% endif %}"
    "{% endfor %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_tiny_qwen2_vl(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    specials = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
                "<|video_pad|>"]
    tokenizer, vocab = word_tokenizer(
        specials, ("user", "assistant"), eos_token="<|im_end|>",
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                              "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"})
    sizes = dict(patch_size=4, merge_size=2, temporal_patch_size=2)
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=64, max_pixels=256, **sizes),
                                 tokenizer=tokenizer, video_processor=Qwen2VLVideoProcessor(**sizes),
                                 chat_template=QWEN2_VL_TEMPLATE)
    config = Qwen2VLConfig(
        vision_config=dict(depth=1, embed_dim=16, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=4,
                           spatial_merge_size=2, temporal_patch_size=2),
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, bos_token_id=2, eos_token_id=3, pad_token_id=0,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}),
        image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
        vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"])
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config)
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 0.3)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_qwen2_vl_dir(tmp_path_factory) -> Path:
    return build_tiny_qwen2_vl(tmp_path_factory.mktemp("harmonyiqa-tiny-qwen2-vl"))


@pytest.fixture(scope="session")
def tiny_idefics3_dir(tmp_path_factory) -> Path:
    return build_tiny_idefics3(tmp_path_factory.mktemp("harmonyiqa-tiny-idefics3"))


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory) -> Path:
    return build_tiny_llava(tmp_path_factory.mktemp("harmonyiqa-tiny-llava"))


def harmonization_set(folder: Path, count: int = 8, seed: int = 0, size: int = 24) -> Path:
    """``count`` images whose MOS falls with the colour shift of a square foreground, references, and a CSV."""
    from PIL import Image

    from tests.conftest import sample_photo

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    photo = sample_photo("astronaut")[::16, ::16][:size, :size].astype(np.float64)
    lines = ["image,reference,mos,subset"]
    for k in range(count):
        shift = 12.0 * k
        harmonized = photo.copy()
        harmonized[6:18, 6:18] += np.array([shift, -shift / 2, shift / 3])
        harmonized = np.clip(harmonized + rng.normal(0, 2, harmonized.shape), 0, 255).astype(np.uint8)
        Image.fromarray(harmonized).save(folder / f"h{k}.png")
        Image.fromarray(photo.astype(np.uint8)).save(folder / f"r{k}.png")
        lines.append(f"h{k}.png,r{k}.png,{90.0 - 10.0 * k + rng.normal(0, 1):.2f},{'NGIHA' if k % 2 else 'GIHA'}")
    (folder / "rows.csv").write_text("\n".join(lines) + "\n")
    return folder / "rows.csv"
