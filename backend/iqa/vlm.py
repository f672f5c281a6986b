"""A small shared adapter for transformers image-text-to-text models (multi-image prompts, answer logits).

Used by Compare2Score's VLM comparator (paper 001 Sec. 3.3-3.4) and meant for Dog-IQA and HarmonyIQA:
load a model by hub id (or local folder) at a pinned revision, build a chat prompt that interleaves text
and several images with the model's own chat template, append the start of the answer, and read the
logits of given answer tokens at the next position -- the "probability of each level token" that soft
comparison (Eq. 3) and score-token readouts need, without generating text.

* Loading: ``AutoProcessor`` + ``AutoModelForImageTextToText`` (any model transformers knows: LLaVA,
  Qwen2-VL, Idefics3, ...). ``trust_remote_code`` is off unless the caller opts in; models that need it
  (mPLUG-Owl2 checkpoints such as ``q-future/Compare2Score``) use :class:`MplugOwl2Model`, which follows
  the authors' inference code (``<|image|>`` placeholders spliced in as token -200, square padding with
  the processor's mean colour, ``model(input_ids, images=...)``).
* Device: ``backend.device.default_device()`` unless given; float16 on CUDA, float32 elsewhere.
* Offline: a hub id that is not cached raises ``ModelUnavailableError`` naming the repo and revision
  (``HF_HUB_OFFLINE`` or an unreachable hub is detected first, instead of waiting for retries).
* Prompts: ``segments`` is a list of strings and :data:`IMAGE` markers, e.g.
  ``["Compared with the first image", IMAGE, ", how is the quality of the second image", IMAGE, "?"]``.
  The answer prefix is appended after the generation prompt; the logits are those of the last prompt
  position (prompts are left-padded in a batch, so the last position is the answer position for all).
* Answer tokens: the id of the first token each word gets when it follows the answer prefix (so
  SentencePiece/BPE word-start markers are right); words must map to distinct ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backend.device import default_device
from backend.errors import InputError, ModelUnavailableError
from backend.weights import hub_reachable

IMAGE = object()  # marker of an image slot in a prompt's segments
MPLUG_IMAGE_TOKEN, MPLUG_IMAGE_INDEX = "<|image|>", -200


def _pil(image: Any):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    return Image.fromarray(np.asarray(image, dtype=np.uint8))


def _is_local(model_id: str) -> bool:
    return Path(model_id).is_dir()


def ensure_available(model_id: str, revision: str | None, size: str = "unknown size") -> None:
    """Raise ModelUnavailableError early when a hub model is neither cached nor downloadable."""
    if _is_local(model_id):
        return
    from huggingface_hub import try_to_load_from_cache


    cached = try_to_load_from_cache(model_id, "config.json", revision=revision)
    if isinstance(cached, str):
        return
    if not hub_reachable():
        raise ModelUnavailableError(
            f"'{model_id}@{revision}' ({size}) is not in the local hub cache and the hub cannot be reached; "
            "download it on a connected machine (huggingface-cli download) or point to a local folder.")


def answer_token_ids(tokenizer, answer_prefix: str, words: Sequence[str]) -> list[int]:
    """First token id of each word as it follows ``answer_prefix`` (distinct ids required)."""
    base = tokenizer.encode(answer_prefix, add_special_tokens=False)
    ids = []
    for word in words:
        joined = tokenizer.encode(f"{answer_prefix} {word}", add_special_tokens=False)
        if joined[: len(base)] == base and len(joined) > len(base):
            ids.append(int(joined[len(base)]))
        else:  # the prefix merged with the word: fall back to the word with a leading space
            ids.append(int(tokenizer.encode(f" {word}", add_special_tokens=False)[0]))
    if len(set(ids)) != len(ids):
        raise ModelUnavailableError(
            f"The tokenizer maps the answer words {list(words)} to overlapping first tokens {ids}; "
            "this model cannot be read out with single-token logits.")
    return ids


class VisionLanguageModel:
    """Any ``AutoModelForImageTextToText`` checkpoint with a chat template (module docstring)."""

    def __init__(self, model_id: str, revision: str | None = None, trust_remote_code: bool = False,
                 device: str | None = None, dtype: Any = None, size: str = "unknown size"):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor


        self.model_id, self.revision = model_id, revision
        self.device = device or default_device()
        dtype = dtype or (torch.float16 if str(self.device).startswith("cuda") else torch.float32)
        ensure_available(model_id, revision, size)
        options = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            self.processor = AutoProcessor.from_pretrained(model_id, **options)
            self.model = AutoModelForImageTextToText.from_pretrained(model_id, dtype=dtype, **options)
        except (OSError, ValueError) as error:
            raise ModelUnavailableError(
                f"'{model_id}@{revision}' could not be loaded as an image-text-to-text model ({error}).") from error
        self.model.to(self.device).eval()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"
        if getattr(self.processor, "chat_template", None) is None and getattr(self.tokenizer, "chat_template", None) is None:
            raise ModelUnavailableError(f"'{model_id}' has no chat template, so multi-image prompts cannot be built.")

    def prompt(self, segments: Sequence[Any], answer_prefix: str = "") -> str:
        """The chat prompt text with the model's image placeholders, ending with ``answer_prefix``."""
        content = [{"type": "image"} if part is IMAGE else {"type": "text", "text": part} for part in segments]
        messages = [{"role": "user", "content": content}]
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return text + answer_prefix

    def answer_logits(self, image_groups: Sequence[Sequence[Any]], segments: Sequence[Any], answer_prefix: str,
                      token_ids: Sequence[int]) -> np.ndarray:
        """(B, K) logits of ``token_ids`` at the answer position, one prompt per group of images."""
        import torch

        slots = sum(part is IMAGE for part in segments)
        if any(len(group) != slots for group in image_groups):
            raise InputError(f"The prompt has {slots} image slots; give {slots} images per prompt.")
        text = self.prompt(segments, answer_prefix)
        inputs = self.processor(text=[text] * len(image_groups), images=[[_pil(i) for i in g] for g in image_groups],
                                return_tensors="pt", padding=True)
        inputs = {k: (v.to(self.device) if hasattr(v, "to") else v) for k, v in inputs.items()}
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        with torch.inference_mode():
            logits = self.model(**inputs).logits[:, -1, :]
        return logits[:, list(token_ids)].float().cpu().numpy()


class MplugOwl2Model:
    """mPLUG-Owl2 remote-code checkpoints (``q-future/Compare2Score``), following the authors' inference code.

    Needs ``trust_remote_code=True``: the checkpoint's own code defines the model, its tokenizer and
    image processor (``model.tokenizer``, ``model.image_processor``) and the ``images=`` forward argument.
    """

    def __init__(self, model_id: str, revision: str | None = None, trust_remote_code: bool = False,
                 device: str | None = None, dtype: Any = None, size: str = "unknown size"):
        import torch
        from transformers import AutoModelForCausalLM


        if not trust_remote_code:
            raise ModelUnavailableError(
                f"'{model_id}' runs its own code from the hub; opt in with trust_remote_code=True "
                "(CLI: --trust-remote-code) after reviewing that code.")
        self.model_id, self.revision = model_id, revision
        self.device = device or default_device()
        dtype = dtype or (torch.float16 if str(self.device).startswith("cuda") else torch.float32)
        ensure_available(model_id, revision, size)
        try:
            self.model = AutoModelForCausalLM.from_pretrained(model_id, revision=revision, trust_remote_code=True, dtype=dtype)
        except (OSError, ValueError, ImportError) as error:
            raise ModelUnavailableError(f"'{model_id}@{revision}' could not be loaded ({error}).") from error
        self.model.to(self.device).eval()
        self.tokenizer, self.image_processor = self.model.tokenizer, self.model.image_processor

    def prompt(self, segments: Sequence[Any], answer_prefix: str = "") -> str:
        """The authors' conversation format: ``USER: <|image|> <|image|> question \\nASSISTANT: prefix``."""
        images = " ".join(MPLUG_IMAGE_TOKEN for part in segments if part is IMAGE)
        question = "".join(part for part in segments if part is not IMAGE).strip()
        return f"USER: {images} {question} \nASSISTANT: {answer_prefix}"

    def input_ids(self, prompt: str):
        """Token ids with every ``<|image|>`` replaced by the image index -200 (the authors' splicing)."""
        import torch

        chunks = [self.tokenizer(chunk).input_ids if chunk else [] for chunk in prompt.split(MPLUG_IMAGE_TOKEN)]
        ids, offset = [], 0
        if chunks and chunks[0] and chunks[0][0] == self.tokenizer.bos_token_id:
            offset = 1
            ids.append(chunks[0][0])
        for index, chunk in enumerate(chunks):
            if index:
                ids.append(MPLUG_IMAGE_INDEX)
            ids.extend(chunk[offset:])
        return torch.tensor(ids, dtype=torch.long)

    def _square(self, image):
        from PIL import Image

        image = _pil(image)
        side = max(image.size)
        background = Image.new("RGB", (side, side), tuple(int(x * 255) for x in self.image_processor.image_mean))
        background.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
        return background

    def answer_logits(self, image_groups, segments, answer_prefix, token_ids) -> np.ndarray:
        import torch

        ids = self.input_ids(self.prompt(segments, answer_prefix)).unsqueeze(0).to(self.device)
        rows = []
        for group in image_groups:
            pixels = self.image_processor.preprocess([self._square(i) for i in group], return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                logits = self.model(ids, images=pixels.to(self.device, self.model.dtype))["logits"][:, -1, :]
            rows.append(logits[0, list(token_ids)].float().cpu().numpy())
        return np.stack(rows)


def load_vlm(model_id: str, revision: str | None = None, trust_remote_code: bool = False,
             convention: str = "chat-template", **options):
    """A VLM adapter by convention: ``chat-template`` (standard processors) or ``mplug-owl2`` (remote code)."""
    if convention == "chat-template":
        return VisionLanguageModel(model_id, revision, trust_remote_code, **options)
    if convention == "mplug-owl2":
        return MplugOwl2Model(model_id, revision, trust_remote_code, **options)
    raise InputError(f"Unknown VLM convention '{convention}'; use chat-template or mplug-owl2.")
