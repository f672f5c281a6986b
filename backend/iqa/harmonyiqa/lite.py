"""HarmonyIQA-lite: a small CNN that scores harmonization quality offline (paper 000 issue item 3).

Not the paper's model: paper 000 (Sec. III) tunes a large multimodal model with LoRA and a score decoder
on human ratings (``backend.iqa.harmonyiqa`` VLM path). The lite model keeps the task -- "how good does
this harmonized image look, with or without the reference" -- and is trained here on CPU on synthetic
composites scored by their true iHarmony4 error (``lite_data.py``), so every tab has an offline default.

What the network sees (all at ``INPUT_SIZE`` x ``INPUT_SIZE``, area-resized):

* the image in CIELAB (OpenCV ``COLOR_RGB2Lab``, 8-bit path; L/100, a/128, b/128), because harmonization
  errors are shifts of lightness and chroma;
* a mask channel and a "mask given" flag channel. Trained with mask dropout, so the model works without a
  mask (campaign items carry none): then a learned attention map stands in for the foreground;
* FR mode also: the reference in CIELAB and the per-pixel difference image - reference.

Head (global context pooling): with the foreground weight ``w`` (the given mask, or the attention map), the
CNN features are pooled inside and outside the foreground and globally (max); alongside, the CIELAB mean and
standard deviation inside and outside ``w`` (the colour-consistency cue of Reinhard-style harmonization).
With ``LiteConfig.context`` (the NR model) the attention map is computed at 1/4 resolution (stage-2
features plus the upsampled last-stage map; training can supervise it with the true mask, ``lite_train``)
and the head also gets :func:`context_statistics` -- the foreground against a thin ring of background just
around it (CIELAB mean difference, log std ratio) and the seam its boundary leaves (log ratio of the CIELAB
gradient on the boundary band to that inside and outside) -- with the colour statistics above standardised
by a BatchNorm; ``cnn_head=False`` leaves the pooled CNN features out of the head. Without a reference,
these explicit mismatch cues are what an image shows of its harmonization error; the CNN alone learned
next to nothing (validation SRCC about 0.2, test 0.01).
FR mode adds three pooled difference statistics: ln of the mean squared RGB difference over the image, over
``w``, and ln of the fraction of pixels that differ (their ratio approximates the foreground error when no
mask is given). An MLP maps all of this to a MOS-like score in 0..100 (higher is better; ``lite_data``
``mos_from_fmse`` defines the scale it was trained on).

Weights: one safetensors file per mode with its config in the metadata and a JSON card beside it
(:func:`save_model` / :func:`load_model`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.base import ScoreResult, check_inputs
from backend.registry import ModelCard

INPUT_SIZE = 128
LAB_SCALE = np.array([100.0, 128.0, 128.0], dtype=np.float32)
DIFF_THRESHOLD = 4.0 / 255.0  # an RGB difference below this (per channel, rms) counts as unchanged
RING_RADIUS = 4  # pixels (at INPUT_SIZE) of the background ring around the foreground (context statistics)
CONTEXT_FEATURES = 13


@dataclass(frozen=True)
class LiteConfig:
    full_reference: bool = False
    widths: tuple[int, ...] = (16, 32, 48, 64)
    hidden: int = 96
    input_size: int = INPUT_SIZE
    context: bool = False  # attention at 1/4 resolution + explicit foreground-vs-surroundings statistics
    cnn_head: bool = True  # the pooled CNN features enter the head (False: only the explicit statistics)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LiteConfig:
        values = dict(values)
        values["widths"] = tuple(values.get("widths", cls.widths))
        return cls(**values)


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


# ------------------------------------------------------------------------------------------ network

def weighted_mean(values, weights):
    """Mean of values (N, C, H, W) under weights (N, 1, H, W), (N, C)."""
    return (values * weights).sum((2, 3)) / weights.sum((2, 3)).clamp_min(1e-4)


def weighted_std(values, weights, mean):
    """Standard deviation of values (N, C, H, W) around ``mean`` (N, C) under weights (N, 1, H, W), (N, C)."""
    spread = ((values - mean[:, :, None, None]) ** 2 * weights).sum((2, 3)) / weights.sum((2, 3)).clamp_min(1e-4)
    return spread.clamp_min(1e-8).sqrt()


def dilate(weights, radius: int):
    """Grey-level dilation (max filter) of (N, 1, H, W) weights by a square of side 2 radius + 1."""
    import torch

    return torch.nn.functional.max_pool2d(weights, 2 * radius + 1, 1, radius)


def context_statistics(lab, weight):
    """(N, 13) foreground-vs-surroundings cues under the soft foreground ``weight`` (N, 1, S, S): CIELAB
    mean difference and log std ratio of the foreground against a ``RING_RADIUS`` ring of background just
    around it (x10, so about unit scale), the log ratio of the mean CIELAB gradient on the foreground's
    boundary band to that inside the foreground and to that outside it (a pasted or recoloured region leaves
    a seam), and the foreground's area."""
    import torch

    ring = (dilate(weight, RING_RADIUS) - weight).clamp_min(0)
    band = (dilate(weight, 1) + dilate(-weight, 1)).clamp(0, 1)  # dilation minus erosion
    inner = (-dilate(-weight, 2)).clamp(0, 1)
    outer = 1 - dilate(weight, 2).clamp(0, 1)
    fg_mean, ring_mean = weighted_mean(lab, weight), weighted_mean(lab, ring)
    fg_std, ring_std = weighted_std(lab, weight, fg_mean), weighted_std(lab, ring, ring_mean)
    padded = torch.nn.functional.pad(lab, (0, 1, 0, 1), mode="replicate")
    gradient = (padded[..., :-1, 1:] - lab).abs() + (padded[..., 1:, :-1] - lab).abs()
    log_band = torch.log(weighted_mean(gradient, band) + 1e-3)
    return torch.cat([10.0 * (fg_mean - ring_mean), torch.log(fg_std / ring_std.clamp_min(1e-4)),
                      log_band - torch.log(weighted_mean(gradient, inner) + 1e-3),
                      log_band - torch.log(weighted_mean(gradient, outer) + 1e-3),
                      weight.mean((1, 2, 3))[:, None]], 1)


def _network_class():
    import torch
    from torch import nn

    def block(c_in: int, c_out: int, stride: int, convs: int = 2) -> nn.Sequential:
        layers = []
        for index in range(convs):
            layers += [nn.Conv2d(c_in if index == 0 else c_out, c_out, 3, stride if index == 0 else 1, 1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        return nn.Sequential(*layers)

    class LiteHarmonyNet(nn.Module):
        """Backbone + foreground/background pooling + MLP (module docstring)."""

        def __init__(self, config: LiteConfig):
            super().__init__()
            self.config = config
            in_channels = 5 + (6 if config.full_reference else 0)
            layers, previous = [], in_channels
            for stage, width in enumerate(config.widths):
                layers.append(block(previous, width, 2, convs=1 if stage == 0 else 2))  # one conv at full size
                previous = width
            self.backbone = nn.Sequential(*layers)
            self.attention = nn.Conv2d(previous, 1, 1)
            if config.context:  # a finer attention map: stage-2 features + the upsampled last-stage map
                self.attention_fine = nn.Conv2d(config.widths[1], 1, 1)
                # the explicit colour statistics (12) and context cues, standardised so the MLP can use them
                self.statistics_norm = nn.BatchNorm1d(12 + CONTEXT_FEATURES)
            features = ((4 * previous if config.cnn_head else 0) + 12 + (3 if config.full_reference else 0)
                        + (CONTEXT_FEATURES if config.context else 0))
            self.head = nn.Sequential(nn.Linear(features, config.hidden), nn.ReLU(inplace=True), nn.Dropout(0.1),
                                      nn.Linear(config.hidden, 1))

        def forward(self, inputs: dict, return_attention: bool = False):
            """Scores (N,) in 0..100; with ``return_attention`` also the attention logits (N, 1, h, w)."""
            lab, mask, flag = inputs["lab"], inputs["mask"], inputs["flag"]
            size = lab.shape[-1]
            channels = [lab, mask, flag[:, None, None, None].expand_as(mask)]
            if self.config.full_reference:
                channels += [inputs["ref_lab"], lab - inputs["ref_lab"]]
            features, stages = torch.cat(channels, 1), []
            for stage in self.backbone:
                features = stage(features)
                stages.append(features)
            logits = self.attention(features)
            if self.config.context:
                fine = stages[1]
                logits = self.attention_fine(fine) + nn.functional.interpolate(
                    logits, size=fine.shape[-2:], mode="bilinear", align_corners=False)
            attention_map = torch.sigmoid(logits)
            gate = flag[:, None, None, None]
            pooled = []
            if self.config.cnn_head:
                attention = nn.functional.adaptive_avg_pool2d(attention_map, features.shape[-2:])
                given = nn.functional.adaptive_avg_pool2d(mask, features.shape[-2:])
                weight = gate * given + (1 - gate) * attention
                fg, bg = weighted_mean(features, weight), weighted_mean(features, 1 - weight)
                pooled = [fg, bg, fg - bg, features.amax((2, 3))]
            full_weight = gate * mask + (1 - gate) * nn.functional.interpolate(attention_map, size=(size, size),
                                                                               mode="bilinear", align_corners=False)
            fg_mean, bg_mean = weighted_mean(lab, full_weight), weighted_mean(lab, 1 - full_weight)
            statistics = [fg_mean, weighted_std(lab, full_weight, fg_mean), bg_mean,
                          weighted_std(lab, 1 - full_weight, bg_mean)]
            if self.config.context:
                statistics = [self.statistics_norm(torch.cat(statistics + [context_statistics(lab, full_weight)], 1))]
            pooled += statistics
            if self.config.full_reference:
                squared = (inputs["rgb_diff"] ** 2).mean(1, keepdim=True)
                changed = (squared > DIFF_THRESHOLD**2).float()
                pooled.append(torch.stack([
                    torch.log(squared.mean((1, 2, 3)) + 1e-6),
                    torch.log(weighted_mean(squared, full_weight)[:, 0] + 1e-6),
                    torch.log(changed.mean((1, 2, 3)) + 1e-3),
                ], 1))
            scores = 100.0 * torch.sigmoid(self.head(torch.cat(pooled, 1))[:, 0])
            return (scores, logits) if return_attention else scores

    return LiteHarmonyNet


def build_network(config: LiteConfig):
    return _network_class()(config)


def parameter_count(network) -> int:
    return int(sum(p.numel() for p in network.parameters()))


def save_model(network, path: str | Path, card: dict[str, Any]) -> Path:
    """Weights as safetensors (config in the metadata) and the JSON card beside them."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    save_file(tensors, str(path), metadata={"config": json.dumps(network.config.as_dict())})
    path.with_suffix(".json").write_text(json.dumps(card, indent=2, default=float) + "\n")
    return path


def load_model(path: str | Path):
    """(network in eval mode, card dict) from a safetensors file written by :func:`save_model`."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelUnavailableError(f"The HarmonyIQA-lite weights '{path}' are missing; train them with "
                                    "`python -m backend harmonyiqa lite-train`.")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if "config" not in metadata:
        raise ModelUnavailableError(f"'{path.name}' is not a HarmonyIQA-lite weights file (no config in its metadata).")
    network = build_network(LiteConfig.from_dict(json.loads(metadata["config"])))
    network.load_state_dict(load_file(str(path)))
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    return network.eval(), card


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
        self.network, self.weights_card = load_model(weights)
        if self.network.config.full_reference != card.full_reference:
            raise ModelUnavailableError(f"The weights '{Path(weights).name}' are for the "
                                        f"{'FR' if self.network.config.full_reference else 'NR'} model, not '{card.name}'.")
        self.threads = threads
        self._torch = torch

    def _prepare(self, image, reference, mask):
        from backend.images import check_mask

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
