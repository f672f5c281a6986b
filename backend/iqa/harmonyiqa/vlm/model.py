"""HarmonyIQA VLM (paper 000 Sec. III-A, Fig. 4): a LoRA-tuned image-text-to-text model with a score decoder.

Architecture (any transformers ``AutoModelForImageTextToText`` of the LLaVA kind, loaded through the shared
adapter :class:`backend.iqa.vlm.VisionLanguageModel`):

* vision encoder -> projector -> LLM, as in Eq. 2 (``T_v = P_img(E_img(I))``). The vision encoder's base
  weights stay frozen; the model's own multimodal projector is left trainable (the paper trains its
  2-layer MLP projector; Table IV row 4); peft LoRA adapters go on the linear layers of the vision
  encoder's blocks and of the LLM's blocks (Table IV rows 1-3: both is best). Parts are found by module
  name, which covers LLaVA / LLaVA-NeXT / LLaVA-OneVision (``vision_tower``, ``multi_modal_projector``,
  ``language_model``), Idefics3 / SmolVLM (``vision_model``, ``connector``, ``text_model``) and
  Qwen2-VL / Qwen2.5-VL (``visual`` with ``visual.merger``, ``language_model``).
* Default base: ``HuggingFaceTB/SmolVLM-256M-Instruct`` at a pinned commit -- the smallest maintained
  transformers-native VLM (about 0.5 GB), so scoring also runs on a CPU. The paper's InternVL (InternViT,
  2-layer MLP projector, InternLM2) has no small transformers-native checkpoint; note that SmolVLM's
  projector is a pixel shuffle with one linear layer, while LLaVA-family and Qwen2-VL bases bring the
  paper's 2-layer MLP projector (``--base`` chooses any of them). The default base is used with image
  splitting off (each image resized to one 512x512 view, 64 tokens; FR mode shows two images).
* Prompt (Sec. III-B "instruction tuning"): a fixed question built from the rating criteria of Sec. II-B
  (harmonization effect, content authenticity, foreground detail preservation). NR mode shows the
  harmonized image; FR mode shows the harmonized image and the reference photo as two images (Sec.
  III-A: "HarmonyIQA also supports the input of both harmonized image and reference image").
* Answer sentence (stage 1 target): ``"The harmonization quality score is X.Y."`` where ``X.Y`` is the
  normalised MOS written on the 1-5 rating scale the annotators used, ``1 + 4 * m`` with one decimal and
  ``m = (MOS - MOS_min) / (MOS_max - MOS_min)`` over the training rows (so any MOS scale becomes the
  same sentence; the min/max are saved with the model).
* Score decoder (stage 2): a 2-layer MLP (Linear-GELU-Linear) on the LLM's last hidden state at the token
  just before the score, i.e. the last token of ``"The harmonization quality score is"``. Because the LLM
  is causal, that hidden state is the same whether or not the score follows, so scoring runs the prompt
  plus this prefix once, with no generation. The decoder predicts ``m``; the score is mapped back to
  the training MOS scale.

Saved folder: ``adapter.safetensors`` (peft ``get_peft_model_state_dict``), ``projector.safetensors``,
``decoder.safetensors`` and ``config.json`` (base model id and revision, mode, LoRA settings and target
modules, processor options, MOS range, prompt, training record). ``HarmonyIQAVLM.load`` rebuilds the base
from its hub id at the pinned revision (or a local folder) and gives identical scores.

Device: :func:`backend.device.default_device`; on CUDA the base runs in float16 under autocast while the
trainable projector, adapters and decoder are kept in float32 (CPU: float32 throughout).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.vlm import IMAGE, VisionLanguageModel, _pil
from backend.protocols import ScoreResult, check_inputs

DEFAULT_BASE = "HuggingFaceTB/SmolVLM-256M-Instruct"
DEFAULT_REVISION = "7e3e67edbbed1bf9888184d9df282b700a323964"
DEFAULT_BASE_SIZE = "about 0.5 GB (Idefics3: SigLIP vision encoder 93M + SmolLM2-135M, bf16)"
DEFAULT_PROCESSOR_OPTIONS = {DEFAULT_BASE: {"do_image_splitting": False}}  # one 512x512 view: 64 tokens per image
MODES = ("nr", "fr")
FORMAT = "harmonyiqa-vlm/1"
FILES = {"adapter": "adapter.safetensors", "projector": "projector.safetensors", "decoder": "decoder.safetensors",
         "config": "config.json"}

CRITERIA = ("Judge whether the foreground matches the background in colour and lighting, whether the content "
            "looks authentic, and whether the foreground details are preserved. Give a harmonization quality "
            "score from 1 (bad) to 5 (excellent).")
SEGMENTS = {
    "nr": (IMAGE, f"How well is this composite image harmonized? {CRITERIA}"),
    "fr": ("Harmonized image:", IMAGE, "Reference photo:", IMAGE,
           f"How well is the harmonized image harmonized, given the real reference photo? {CRITERIA}"),
}
ANSWER_PREFIX = "The harmonization quality score is"

VISION_PARTS = ("vision_tower", "vision_model", "visual")
PROJECTOR_PARTS = ("multi_modal_projector", "connector", "visual.merger")
LLM_PARTS = ("language_model", "text_model")
LINEAR_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "out_proj", "qkv", "proj", "fc1", "fc2", "gate_proj",
                "up_proj", "down_proj")
_LEAF = "|".join(LINEAR_NAMES)
VISION_LORA_PATTERN = re.compile(rf"(^|.*\.)({'|'.join(VISION_PARTS)})\.(.*\.)?(layers|blocks)\.\d+\.(.*\.)?({_LEAF})$")
LLM_LORA_PATTERN = re.compile(rf"(^|.*\.)({'|'.join(LLM_PARTS)})\.(.*\.)?layers\.\d+\.(.*\.)?({_LEAF})$")


@dataclass(frozen=True)
class LoraSettings:
    """peft LoRA settings (Sec. III-B "LoRA adaptation"); ``vision`` / ``llm`` choose where adapters go."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    vision: bool = True
    llm: bool = True


def score_text(normalised: float) -> str:
    """The score as written in the answer sentence: ``1 + 4 m`` on the 1-5 scale, one decimal."""
    value = 1.0 + 4.0 * float(np.clip(normalised, 0.0, 1.0))
    return f"{value:.1f}"


def answer_sentence(normalised: float) -> str:
    return f"{ANSWER_PREFIX} {score_text(normalised)}."


def parse_text_score(text: str) -> float:
    """The normalised score ``m`` of a generated answer (NaN when it holds no number)."""
    match = re.search(r"\d+(?:\.\d+)?", re.sub(r"\s+", "", text))
    if match is None:
        return float("nan")
    return (float(match.group(0)) - 1.0) / 4.0


def find_part(model, names: tuple[str, ...]) -> tuple[str, Any]:
    """The first submodule whose dotted name is or ends with one of ``names`` (in the order of ``names``)."""
    modules = dict(model.named_modules())
    for wanted in names:
        for name, module in modules.items():
            if name == wanted or name.endswith("." + wanted):
                return name, module
    raise ModelUnavailableError(
        f"This model has no module named {' / '.join(names)}; HarmonyIQA supports LLaVA-style, Idefics3/SmolVLM "
        "and Qwen2-VL image-text-to-text models.")


def lora_targets(model, vision: bool = True, llm: bool = True) -> list[str]:
    """Full names of the linear layers that get LoRA: vision-encoder blocks and LLM blocks (module docstring)."""
    import torch

    patterns = [p for p, on in ((VISION_LORA_PATTERN, vision), (LLM_LORA_PATTERN, llm)) if on]
    if not patterns:
        raise InputError("LoRA needs at least one place to go; enable it on the vision encoder, the LLM or both.")
    projector_name, _ = find_part(model, PROJECTOR_PARTS)
    targets = [name for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and any(p.match(name) for p in patterns)
               and not name.startswith(projector_name + ".")]
    for pattern, part in ((VISION_LORA_PATTERN, "vision encoder"), (LLM_LORA_PATTERN, "LLM")):
        if pattern in patterns and not any(pattern.match(t) for t in targets):
            raise ModelUnavailableError(f"No linear layer of the {part} matched the LoRA name patterns; this "
                                        "architecture is not supported.")
    return targets


def build_decoder(hidden_size: int, width: int):
    """The quality score decoder: two linear layers with a GELU between them (Sec. III-A, "two MLPs")."""
    import torch

    return torch.nn.Sequential(torch.nn.Linear(hidden_size, width), torch.nn.GELU(), torch.nn.Linear(width, 1))


class HarmonyIQAVLM:
    """The model of the module docstring; ``score(image, reference=None, mask=None)`` follows the registry protocol."""

    card = None  # set by the registry factory

    def __init__(self, base: str = DEFAULT_BASE, revision: str | None = DEFAULT_REVISION, mode: str = "nr",
                 lora: LoraSettings | None = None, device: str | None = None, trust_remote_code: bool = False,
                 processor_options: dict | None = None, decoder_width: int | None = None, seed: int = 0,
                 size: str = "unknown size"):
        import torch
        from peft import LoraConfig, get_peft_model


        if mode not in MODES:
            raise InputError(f"Unknown HarmonyIQA mode '{mode}'; use nr (harmonized image only) or fr (with reference).")
        self.mode, self.base, self.revision = mode, str(base), revision
        self.lora = lora or LoraSettings()
        self.processor_options = dict(DEFAULT_PROCESSOR_OPTIONS.get(self.base, {}) if processor_options is None
                                      else processor_options)
        if size == "unknown size" and self.base == DEFAULT_BASE:
            size = DEFAULT_BASE_SIZE
        self.vlm = VisionLanguageModel(self.base, revision, trust_remote_code, device=device, size=size)
        self.device = self.vlm.device
        self.model, self.processor, self.tokenizer = self.vlm.model, self.vlm.processor, self.vlm.tokenizer
        image_processor = getattr(self.processor, "image_processor", None)
        for key, value in self.processor_options.items():
            setattr(image_processor if image_processor is not None and hasattr(image_processor, key) else self.processor,
                    key, value)
        self.autocast = str(self.device).startswith("cuda") and self.model.dtype != torch.float32
        torch.manual_seed(seed)
        self.projector_name, self.projector = find_part(self.model, PROJECTOR_PARTS)
        self.targets = lora_targets(self.model, self.lora.vision, self.lora.llm)
        config = LoraConfig(r=self.lora.rank, lora_alpha=self.lora.alpha, lora_dropout=self.lora.dropout,
                            target_modules=self.targets)
        self.peft = get_peft_model(self.model, config)  # freezes every base weight, adds the adapters in place
        self.projector.float()
        for parameter in self.projector.parameters():
            parameter.requires_grad_(True)
        hidden = self.model.config.get_text_config().hidden_size
        self.decoder_width = int(decoder_width or min(1024, hidden))
        self.decoder = build_decoder(hidden, self.decoder_width).to(self.device)
        self.mos_range = (0.0, 100.0)
        self.training_record: dict = {}
        self.set_training(False)

    # ----------------------------------------------------------------------------------- parameters

    def set_training(self, on: bool) -> None:
        self.model.train(on)
        self.decoder.train(on)

    def adapter_parameters(self) -> list:
        return [p for n, p in self.model.named_parameters() if "lora_" in n]

    def projector_parameters(self) -> list:
        return list(self.projector.parameters())

    def decoder_parameters(self) -> list:
        return list(self.decoder.parameters())

    # --------------------------------------------------------------------------------------- inputs

    def _check_images(self, image, reference) -> list:
        if image is None:
            raise InputError("No image was given; give the harmonized image to score.")
        if self.mode == "fr":
            if reference is None:
                raise InputError("HarmonyIQA FR mode compares the harmonized image with its reference photo: "
                                 "give a reference image (or use the NR model).")
            return [_pil(image), _pil(reference)]
        return [_pil(image)]

    def prompt_texts(self, normalised: float | None = None) -> tuple[str, str, str | None]:
        """(prompt ending with the generation prompt, prompt + answer prefix, full text with the answer or None)."""
        prompt = self.vlm.prompt(SEGMENTS[self.mode])
        joint = "" if prompt[-1:].isspace() else " "
        prefix = prompt + joint + ANSWER_PREFIX
        full = None
        if normalised is not None:
            full = prompt + joint + answer_sentence(normalised) + (self.tokenizer.eos_token or "")
        return prompt, prefix, full

    def _tensors(self, text: str, images: list) -> dict:
        import torch

        inputs = self.processor(text=[text], images=[images], return_tensors="pt")
        inputs = {k: (v.to(self.device) if hasattr(v, "to") else v) for k, v in inputs.items() if k != "token_type_ids"}
        pixels = inputs.get("pixel_values")
        if isinstance(pixels, torch.Tensor) and pixels.is_floating_point():
            inputs["pixel_values"] = pixels.to(self.model.dtype)
        return inputs

    def _count(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode(self, image, reference=None, normalised: float | None = None) -> dict:
        """Model inputs; with ``normalised``, also stage-1 ``labels`` (answer tokens only) and ``score_index``."""
        images = self._check_images(image, reference)
        prompt, prefix, full = self.prompt_texts(normalised)
        if full is None:
            return {"inputs": self._tensors(prefix, images), "score_index": -1}
        ids_full, ids_prompt, ids_prefix = self._count(full), self._count(prompt), self._count(prefix)
        if ids_full[: len(ids_prompt)] != ids_prompt or ids_full[: len(ids_prefix)] != ids_prefix:
            raise ModelUnavailableError("The tokenizer merges the prompt with the answer across their boundary, "
                                        "so the answer tokens cannot be located; this model is not supported.")
        inputs = self._tensors(full, images)
        length = inputs["input_ids"].shape[1]
        labels = inputs["input_ids"].clone()
        labels[:, : length - (len(ids_full) - len(ids_prompt))] = -100
        return {"inputs": inputs, "labels": labels, "score_index": length - 1 - (len(ids_full) - len(ids_prefix))}

    # -------------------------------------------------------------------------------------- forward

    def _autocast(self):
        import contextlib

        import torch

        return torch.autocast("cuda", dtype=self.model.dtype) if self.autocast else contextlib.nullcontext()

    def text_loss(self, encoded: dict):
        """Stage 1: cross-entropy of the answer sentence's tokens (teacher forcing)."""
        import torch

        with self._autocast():
            logits = self.model(**encoded["inputs"]).logits
        labels = encoded["labels"]
        return torch.nn.functional.cross_entropy(logits[:, :-1].float().flatten(0, 1), labels[:, 1:].flatten(),
                                                 ignore_index=-100)

    def score_hidden(self, encoded: dict):
        """The LLM's last hidden state at the token just before the score."""
        backbone = getattr(self.model, "model", None)
        with self._autocast():
            if backbone is not None:
                output = backbone(**encoded["inputs"])
                hidden = getattr(output, "last_hidden_state", None)
            else:
                hidden = None
            if hidden is None:
                hidden = self.model(**encoded["inputs"], output_hidden_states=True).hidden_states[-1]
        return hidden[:, encoded["score_index"]].float()

    def decode(self, encoded: dict):
        """Stage 2 output: the decoder's normalised score ``m`` (a 1-element tensor)."""
        return self.decoder(self.score_hidden(encoded)).squeeze(-1)

    def predict_normalised(self, image, reference=None) -> float:
        import torch

        with torch.inference_mode():
            return float(self.decode(self.encode(image, reference))[0])

    def generate_normalised(self, image, reference=None, max_new_tokens: int = 8) -> tuple[float, str]:
        """Stage-1 reading: greedy answer after the prefix, parsed (``m``, NaN if no number) with its text."""
        import torch

        encoded = self.encode(image, reference)
        inputs = encoded["inputs"]
        with torch.inference_mode(), self._autocast():
            output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                         pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        text = self.tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        return parse_text_score(text), text

    # --------------------------------------------------------------------------------------- scores

    def normalise(self, mos):
        low, high = self.mos_range
        return (np.asarray(mos, dtype=np.float64) - low) / (high - low)

    def to_mos(self, normalised):
        low, high = self.mos_range
        return low + (high - low) * np.asarray(normalised, dtype=np.float64)

    def score(self, image, reference=None, mask=None):
        """Registry protocol: the predicted MOS of the harmonized image (mask unused: the paper's model has none)."""

        if self.card is not None:
            check_inputs(self.card, image, reference if self.mode == "fr" else None, None)
        value = self.predict_normalised(image, reference)
        if not math.isfinite(value):
            raise InputError("HarmonyIQA produced a non-finite score for this image; the adapter may be damaged.")
        return ScoreResult(float(self.to_mos(value)), {"normalised": value, "mode": self.mode,
                                                       "mos_range": list(self.mos_range), "base": self.base})

    # --------------------------------------------------------------------------------- save and load

    def config(self) -> dict:
        return {
            "format": FORMAT, "mode": self.mode, "base": {"id": self.base, "revision": self.revision},
            "lora": {**asdict(self.lora), "target_modules": self.targets}, "projector": self.projector_name,
            "processor_options": self.processor_options,
            "decoder": {"width": self.decoder_width, "layers": "Linear-GELU-Linear", "input": "last hidden state "
                        "at the last token of the answer prefix"},
            "mos_range": list(self.mos_range),
            "prompt": {"segments": ["<image>" if s is IMAGE else s for s in SEGMENTS[self.mode]],
                       "answer_prefix": ANSWER_PREFIX,
                       "score_text": "1 + 4 * (MOS - mos_min) / (mos_max - mos_min), one decimal"},
            "training": self.training_record,
        }

    def save(self, folder: str | Path) -> Path:
        from peft import get_peft_model_state_dict
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)

        def plain(state):
            return {k: v.detach().float().cpu().contiguous() for k, v in state.items()}

        save_file(plain(get_peft_model_state_dict(self.peft)), str(folder / FILES["adapter"]))
        save_file(plain(self.projector.state_dict()), str(folder / FILES["projector"]))
        save_file(plain(self.decoder.state_dict()), str(folder / FILES["decoder"]))
        (folder / FILES["config"]).write_text(json.dumps(self.config(), indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str | None = None, base: str | None = None,
             trust_remote_code: bool = False, size: str = "unknown size") -> HarmonyIQAVLM:
        """Rebuild a saved model; ``base`` overrides the saved base id with a local copy of the same model."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        config = read_config(folder)
        folder = Path(folder)
        lora = {k: v for k, v in config["lora"].items() if k != "target_modules"}
        model = cls(base or config["base"]["id"], None if base else config["base"]["revision"], config["mode"],
                    LoraSettings(**lora), device, trust_remote_code, config.get("processor_options", {}),
                    config["decoder"]["width"], size=size)
        if model.targets != config["lora"]["target_modules"]:
            raise ModelUnavailableError(f"The adapter in '{folder}' was trained on other layers than this base model "
                                        "has; load it with the base model named in its config.json.")
        result = set_peft_model_state_dict(model.peft, _to(load_file(str(folder / FILES["adapter"])), model.device))
        if getattr(result, "unexpected_keys", None):
            raise ModelUnavailableError(f"The adapter in '{folder}' does not fit the base model "
                                        f"(unexpected {result.unexpected_keys[:3]}).")
        model.projector.load_state_dict(load_file(str(folder / FILES["projector"]), device=str(model.device)))
        model.decoder.load_state_dict(load_file(str(folder / FILES["decoder"]), device=str(model.device)))
        model.mos_range = tuple(float(v) for v in config["mos_range"])
        model.training_record = config.get("training", {})
        model.set_training(False)
        return model


def _to(state: dict, device) -> dict:
    return {k: v.to(device) for k, v in state.items()}


def read_config(folder: str | Path) -> dict:
    """The ``config.json`` of a saved HarmonyIQA VLM folder (ModelUnavailableError naming what to do)."""
    folder = Path(folder)
    path = folder / FILES["config"]
    missing = [name for name in FILES.values() if not (folder / name).is_file()]
    if missing:
        raise ModelUnavailableError(
            f"'{folder}' holds no trained HarmonyIQA VLM ({', '.join(missing)} missing); train one with "
            "`python -m backend harmonyiqa train --data FILE.csv --out FOLDER`.")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ModelUnavailableError(f"'{path}' is not valid JSON ({error}); retrain or restore the folder.") from error
    if config.get("format") != FORMAT:
        raise ModelUnavailableError(f"'{path}' is not a {FORMAT} config; retrain with `python -m backend harmonyiqa train`.")
    return config
