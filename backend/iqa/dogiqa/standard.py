"""Dog-IQA standard-guided scoring (paper 003 Sec. 3.1) with any transformers VLM: prompt and digit readout.

Prompt (Sec. 3.1, K = 7 as printed; other K from Table 5):

    System: You are a helpful assistant to evaluate image quality. You will be given standards for each
            quality level. The quality standard is listed as follows: 7: Perfect, 6: Excellent, 5: Good,
            4: Fair, 3: Bad, 2: Poor, 1: Very Bad. The higher the image quality is, the higher the score
            should be.
    User:   <image> Please evaluate the quality of the image and score in [1, 2, 3, 4, 5, 6, 7].

The paper lists the words only for K = 7; for K = 3, 5, 9 this module uses the same vocabulary
(K = 5 is Q-Align's five levels, which the paper cites as the source of level standards). Chat templates
that refuse a system turn get the system text at the start of the user turn.

Readouts (one forward pass, no generation, through ``backend.iqa.vlm``): the logits of the K digit tokens
"1".."K" at the first answer position, softmax over those K only:

* ``argmax`` -- the digit the model ranks highest: the paper's integer score (greedy decoding gives the
  same digit whenever the model's top token is a digit);
* ``weighted`` -- sum_k k p_k, the probability-weighted score (continuous, no ties);
* ``generated`` -- the paper literally: greedy generation of a few tokens, parsed with
  :func:`parse_answer` ("when the MLLM does not output a numeric score but words, we set the score to 1";
  numbers outside 1..K are treated the same way). The logit readouts never produce a non-numeric
  answer: they are restricted to the digit tokens, so the rule only applies to the ``generated`` readout.

Digit tokens are found as the last token of ``answer_prefix + digit`` and must decode to the digit
(byte-level BPE tokenizers split digits into single tokens; SentencePiece ones put a "▁" first).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.dogiqa.aggregate import check_levels
from backend.iqa.vlm import IMAGE, VisionLanguageModel, _pil

STANDARD_WORDS = {  # index 0 is level 1
    3: ("Bad", "Fair", "Good"),
    5: ("Bad", "Poor", "Fair", "Good", "Excellent"),
    7: ("Very Bad", "Poor", "Bad", "Fair", "Good", "Excellent", "Perfect"),
    9: ("Very Bad", "Poor", "Bad", "Mediocre", "Fair", "Good", "Very Good", "Excellent", "Perfect"),
}
READOUTS = ("argmax", "weighted", "generated")


@dataclass(frozen=True)
class System:
    """A system turn in a prompt's segments (a marker like ``backend.iqa.vlm.IMAGE``)."""

    text: str


@dataclass
class LevelScore:
    """One image's standard-guided score: the level (argmax), the weighted score and what produced them."""

    level: int
    weighted: float
    probabilities: list[float] | None = None
    answer: str | None = None
    raw: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def value(self, readout: str) -> float:
        if readout == "weighted":
            return float(self.weighted)
        if readout == "generated" and "generated_level" in self.extra:
            return float(self.extra["generated_level"])
        return float(self.level)

    def as_dict(self) -> dict:
        out = {"level": self.level, "weighted": self.weighted}
        for key in ("probabilities", "answer", "raw"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return {**out, **self.extra}


def standard_text(k: int) -> str:
    words = STANDARD_WORDS[check_levels(k)]
    return ", ".join(f"{level}: {words[level - 1]}" for level in range(k, 0, -1))


def system_prompt(k: int) -> str:
    return ("You are a helpful assistant to evaluate image quality. You will be given standards for each quality "
            f"level. The quality standard is listed as follows: {standard_text(k)}. The higher the image quality "
            "is, the higher the score should be.")


def user_prompt(k: int) -> str:
    return f"Please evaluate the quality of the image and score in [{', '.join(str(i) for i in range(1, check_levels(k) + 1))}]."


def segments(k: int) -> tuple:
    """The prompt as segments for the VLM adapter: system turn, the image, the question."""
    return (System(system_prompt(k)), IMAGE, user_prompt(k))


def parse_answer(text: str, k: int) -> int:
    """The paper's rule for a generated answer: its first integer if it is in 1..K, else 1."""
    match = re.search(r"\d+", text or "")
    value = int(match.group()) if match else 0
    return value if 1 <= value <= k else 1


def digit_token_ids(tokenizer, k: int, answer_prefix: str = "") -> list[int]:
    """Token ids of the digits 1..K as the answer's next token (module docstring)."""
    ids = []
    for digit in range(1, k + 1):
        encoded = tokenizer.encode(f"{answer_prefix}{digit}", add_special_tokens=False)
        if not encoded or tokenizer.decode([encoded[-1]]).strip() != str(digit):
            raise ModelUnavailableError(f"The tokenizer has no single token for the digit {digit}, so the K-level "
                                        "standard cannot be read out from this model's logits.")
        ids.append(int(encoded[-1]))
    if len(set(ids)) != len(ids):
        raise ModelUnavailableError(f"The tokenizer maps the digits 1..{k} to overlapping tokens {ids}.")
    return ids


def probabilities_from_logits(logits: np.ndarray) -> np.ndarray:
    """Softmax over the K digit logits, row-wise."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def level_scores(probabilities: np.ndarray) -> list[LevelScore]:
    """Argmax level (1-based) and probability-weighted score per row of (N, K) probabilities."""
    levels = np.arange(1, probabilities.shape[1] + 1)
    return [LevelScore(int(np.argmax(row)) + 1, float(row @ levels), [float(p) for p in row]) for row in probabilities]


class StandardVLM(VisionLanguageModel):
    """The shared adapter, with a system turn (:class:`System` in the segments) and greedy answers."""

    def prompt(self, segments: Sequence[Any], answer_prefix: str = "") -> str:
        systems = [part.text for part in segments if isinstance(part, System)]
        content = [{"type": "image"} if part is IMAGE else {"type": "text", "text": part}
                   for part in segments if not isinstance(part, System)]
        messages = [{"role": "user", "content": content}]
        if systems:
            messages.insert(0, {"role": "system", "content": [{"type": "text", "text": " ".join(systems)}]})
        try:
            text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except Exception:  # a template without a system turn (jinja raises): fold it into the user turn
            if not systems:
                raise
            merged = [{"type": "text", "text": " ".join(systems)}, *content]
            text = self.processor.apply_chat_template([{"role": "user", "content": merged}],
                                                      add_generation_prompt=True, tokenize=False)
        return text + answer_prefix

    def generate_answers(self, images: Sequence[Any], segments: Sequence[Any], max_new_tokens: int = 4) -> list[str]:
        """Greedy answers (new tokens only, decoded) for one prompt per image."""
        import torch

        text = self.prompt(segments)
        inputs = self.processor(text=[text] * len(images), images=[[_pil(i)] for i in images], return_tensors="pt",
                                padding=True)
        inputs = {k: (v.to(self.device) if hasattr(v, "to") else v) for k, v in inputs.items()}
        if "pixel_values" in inputs and inputs["pixel_values"].is_floating_point():
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        return self.tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


_loaded: dict[tuple, StandardVLM] = {}
_load_lock = threading.Lock()


def load_standard_vlm(model_id: str, revision: str | None = None, trust_remote_code: bool = False,
                      device: str | None = None, size: str = "unknown size") -> StandardVLM:
    """One loaded VLM per (id, revision, device), shared by every K and readout."""
    key = (model_id, revision, trust_remote_code, device)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = StandardVLM(model_id, revision, trust_remote_code, device=device, size=size)
        return _loaded[key]


class VLMStandardScorer:
    """Scores images on the K-level standard with a VLM (module docstring)."""

    def __init__(self, model_id: str, revision: str | None = None, k: int = 7, trust_remote_code: bool = False,
                 device: str | None = None, batch_size: int = 4, size: str = "unknown size",
                 answer_prefix: str = "", max_new_tokens: int = 4):
        self.k = check_levels(k)
        self.vlm = load_standard_vlm(model_id, revision, trust_remote_code, device, size)
        self.answer_prefix, self.batch_size, self.max_new_tokens = answer_prefix, int(batch_size), int(max_new_tokens)
        self.segments = segments(self.k)
        self.token_ids = digit_token_ids(self.vlm.tokenizer, self.k, answer_prefix)
        self.name = f"vlm:{model_id}" + (f"@{revision}" if revision else "")

    def digit_logits(self, images: Sequence[np.ndarray]) -> np.ndarray:
        chunks = [self.vlm.answer_logits([[image] for image in images[s:s + self.batch_size]], self.segments,
                                         self.answer_prefix, self.token_ids)
                  for s in range(0, len(images), self.batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.k))

    def levels(self, images: Sequence[np.ndarray], readout: str = "argmax") -> list[LevelScore]:
        if readout not in READOUTS:
            raise InputError(f"Unknown readout '{readout}'; use one of {', '.join(READOUTS)}.")
        results = level_scores(probabilities_from_logits(self.digit_logits(images)))
        if readout == "generated":
            answers = []
            for s in range(0, len(images), self.batch_size):
                answers += self.vlm.generate_answers(images[s:s + self.batch_size], self.segments, self.max_new_tokens)
            for result, answer in zip(results, answers, strict=True):
                result.answer = answer
                result.extra["generated_level"] = parse_answer(answer, self.k)
        return results
