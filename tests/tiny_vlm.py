"""Tiny random VLMs built offline for the VLM plumbing tests (Compare2Score, Dog-IQA, HarmonyIQA).

A word-level tokenizer over the words each test's prompts use (plus the digits 0-9 as single tokens) and a
tiny LLaVA: a CLIP vision tower of 16 px images in 8 px patches (4 image tokens per image), LLaVA's 2-layer
MLP projector and a one-layer Llama. Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

DIGITS = tuple(str(d) for d in range(10))
LLAVA_SPECIALS = ("<pad>", "<unk>", "<s>", "</s>", "<image>")
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | upper }} : "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image> {% else %}{{ part['text'] }} {% endif %}"
    "{% endfor %}{% endfor %}{% if add_generation_prompt %}ASSISTANT : {% endif %}")
IMAGE_SIZE, PATCH = 16, 8
TOKENS_PER_IMAGE = (IMAGE_SIZE // PATCH) ** 2


def word_tokenizer(words, specials, **special_tokens):
    """A fast tokenizer whose vocabulary is ``specials``, then ``words`` (once each), then any missing digit."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = list(dict.fromkeys(words))
    tokens = list(specials) + words + [d for d in DIGITS if d not in words]
    vocab = {token: index for index, token in enumerate(tokens)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                                  pre_tokenizers.Digits(individual_digits=True)])
    core.add_special_tokens(list(specials))
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", **special_tokens), vocab


def build_tiny_llava(folder: Path, words, seed: int = 0, chat_template: str = CHAT_TEMPLATE,
                     head_std: float | None = None) -> Path:
    """Save a tiny random LLaVA and its processor to ``folder``. ``head_std`` redraws the output layer with that
    spread (the default 0.02 keeps logits below ~0.7, which caps how far a frozen head lets training move)."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tokenizer, vocab = word_tokenizer(words, LLAVA_SPECIALS, bos_token="<s>", eos_token="</s>",
                                      extra_special_tokens={"image_token": "<image>"})
    image_processor = CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE},
                                         crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=PATCH,
                               vision_feature_select_strategy="default", chat_template=chat_template,
                               num_additional_image_tokens=1)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                       image_size=IMAGE_SIZE, patch_size=PATCH),
        text_config=LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                num_attention_heads=2, num_key_value_heads=2, pad_token_id=0, bos_token_id=2,
                                eos_token_id=3),
        image_token_id=vocab["<image>"], vision_feature_layer=-1, vision_feature_select_strategy="default")
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    if head_std is not None:
        with torch.no_grad():
            model.lm_head.weight.normal_(0.0, head_std)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
