"""HarmonyIQA-lite: a small CNN that scores harmonization quality offline (paper 000 issue item 3).

Not the paper's model: paper 000 (Sec. III) tunes a large multimodal model with LoRA and a score decoder
on human ratings (``backend.iqa.harmonyiqa`` VLM path). The lite model keeps the task -- "how good does
this harmonized image look, with or without the reference" -- and is trained here on CPU on synthetic
composites scored by their true iHarmony4 error (``lite.data``), so every tab has an offline default.

What the network sees (all at ``INPUT_SIZE`` x ``INPUT_SIZE``, area-resized):

* the image in CIELAB (OpenCV ``COLOR_RGB2Lab``, 8-bit path; L/100, a/128, b/128), because harmonization
  errors are shifts of lightness and chroma;
* a mask channel and a "mask given" flag channel. Trained with mask dropout, so the model works without a
  mask (campaign items carry none): then a learned attention map stands in for the foreground;
* FR mode also: the reference in CIELAB and the per-pixel difference image - reference.

The network (``lite.network``: a small CNN backbone, foreground/background pooling by the mask or a learned
attention map, explicit colour and context statistics, an MLP) maps this to a MOS-like score in 0..100
(higher is better; ``lite.data`` ``mos_from_fmse`` defines the scale it was trained on).

Weights: one safetensors file per mode (``LiteConfig`` in the metadata) with a JSON card beside it, written
and read by :mod:`backend.weights`. This module stays light to import (torch and ``lite.network`` load
inside the calls).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backend import weights as weights_files
from backend.errors import InputError, ModelUnavailableError
from backend.images import check_mask
from backend.protocols import ScoreResult, check_inputs
from backend.registry import ModelCard

INPUT_SIZE = 128
LAB_SCALE = np.array([100.0, 128.0, 128.0], dtype=np.float32)
WHAT = "HarmonyIQA-lite"
TRAIN_COMMAND = "python -m backend harmonyiqa lite-train"


# ------------------------------------------------------------------------------------------ inputs

def _resize(array: np.ndarray, size: int) -> np.ndarray:
    import cv2

    interpolation = cv2.INTER_AREA if min(array.shape[:2]) >= size else cv2.INTER_LINEAR
    return cv2.resize(array, (size, size), interpolation=interpolation)


def resize_rgb(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """An RGB uint8 image area-resized to size x size (uint8)."""
    return _resize(np.ascontiguousarray(image), size)


def resize_mask(mask: np.ndarray | None, size: int = INPUT_SIZE) -> np.ndarray | None:
    """A bool mask area-resized to a soft size x size float32 map (None stays None)."""
    if mask is None:
        return None
    return _resize(mask.astype(np.float32), size)


def lab_of(rgb_small: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of uint8 RGB (H, W, 3) or (N, H, W, 3), scaled to about -1..1 (float32)."""
    import cv2

    # OpenCV's 8-bit conversion (L*255/100, a+128, b+128) is ~30x faster than its float path and loses
    # nothing that matters here (the input is 8-bit already).
    flat = np.ascontiguousarray(rgb_small, dtype=np.uint8).reshape(-1, rgb_small.shape[-2], 3)
    lab = cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb_small.shape).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab / LAB_SCALE


def batch_tensors(images: np.ndarray, masks: np.ndarray, has_mask: np.ndarray, references: np.ndarray | None):
    """Network inputs from resized arrays: images/references (N, S, S, 3) uint8, masks (N, S, S) float, flags (N,)."""
    import torch

    def rgb_lab(array):
        rgb = torch.from_numpy(array.astype(np.float32) / 255.0).permute(0, 3, 1, 2)
        lab = torch.from_numpy(lab_of(array)).permute(0, 3, 1, 2)
        return rgb, lab

    rgb, lab = rgb_lab(images)
    masks = torch.from_numpy(masks.astype(np.float32))[:, None] * torch.from_numpy(has_mask.astype(np.float32))[:, None, None, None]
    flags = torch.from_numpy(has_mask.astype(np.float32))
    if references is None:
        return {"lab": lab, "mask": masks, "flag": flags}
    ref_rgb, ref_lab = rgb_lab(references)
    return {"lab": lab, "mask": masks, "flag": flags, "ref_lab": ref_lab, "rgb_diff": rgb - ref_rgb}


def load_network(path: str | Path):
    """``(LiteHarmonyNet in eval mode, card)`` from weights written by :func:`backend.weights.save`."""
    from backend.iqa.harmonyiqa.lite.network import LiteHarmonyNet

    return weights_files.load(path, LiteHarmonyNet, what=WHAT, train_hint=TRAIN_COMMAND)


def parameter_count(network) -> int:
    return int(sum(p.numel() for p in network.parameters()))


# ------------------------------------------------------------------------------------------ scorer

def _check_array(array: Any, what: str) -> np.ndarray:
    if not isinstance(array, np.ndarray) or array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise InputError(f"The {what} must be an 8-bit RGB image; decode it with backend.images.load_image.")
    if min(array.shape[:2]) < 8:
        raise InputError(f"The {what} is {array.shape[1]}x{array.shape[0]} pixels; give an image at least 8x8.")
    return array


class LiteScorer:
    """HarmonyIQA-lite behind the registry's ``score`` protocol (NR or FR by its card)."""

    def __init__(self, card: ModelCard, weights: str | Path, threads: int | None = None):
        import torch

        self.card = card
        self.network, self.weights_card = load_network(weights)
        if self.network.config.full_reference != card.full_reference:
            raise ModelUnavailableError(f"The weights '{Path(weights).name}' are for the "
                                        f"{'FR' if self.network.config.full_reference else 'NR'} model, not '{card.name}'.")
        self.threads = threads
        self._torch = torch

    def _prepare(self, image, reference, mask):
        image = _check_array(image, "image")
        if not self.card.full_reference:
            reference = None  # the NR model ignores a reference
        elif reference is not None:
            reference = _check_array(reference, "reference image")
        check_inputs(self.card, image, reference, mask)
        if mask is not None:
            mask = check_mask(mask, shape=image.shape[:2], name="foreground mask")
        size = self.network.config.input_size
        small_ref = resize_rgb(reference, size)[None] if self.card.full_reference else None
        small_mask = resize_mask(mask, size) if mask is not None else np.zeros((size, size), np.float32)
        return resize_rgb(image, size)[None], small_mask[None], np.array([mask is not None]), small_ref

    def score_batch(self, images, references=None, masks=None) -> list[ScoreResult]:
        torch = self._torch
        references = references if references is not None else [None] * len(images)
        masks = masks if masks is not None else [None] * len(images)
        parts = [self._prepare(i, r, m) for i, r, m in zip(images, references, masks, strict=True)]
        if not parts:
            return []
        stacked = [np.concatenate([p[k] for p in parts]) if parts[0][k] is not None else None for k in range(4)]
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                scores = self.network(batch_tensors(*stacked)).double().numpy()
        finally:
            if self.threads:
                torch.set_num_threads(previous)
        return [ScoreResult(float(s), {"mask_used": bool(p[2][0]), "scale": "0-100, higher is better (MOS-like)"})
                for s, p in zip(scores, parts, strict=True)]

    def score(self, image: np.ndarray, reference: np.ndarray | None = None, mask: np.ndarray | None = None) -> ScoreResult:
        return self.score_batch([image], [reference], [mask])[0]
