"""The HarmonyIQA-lite network (paper 000 issue item 3; offline stand-in, not the paper's VLM) in torch.

Inputs (``lite.batch_tensors``): the image in CIELAB, a mask channel and a "mask given" flag channel; FR
mode also the reference in CIELAB and the per-pixel RGB difference image - reference. Backbone: four
stages of 3x3 convolutions with batch norm (stride 2 each; one convolution at full size, then two).

Head (global context pooling): with the foreground weight ``w`` (the given mask, or the attention map), the
CNN features are pooled inside and outside the foreground and globally (max); alongside, the CIELAB mean and
standard deviation inside and outside ``w`` (the colour-consistency cue of Reinhard-style harmonization).
With ``LiteConfig.context`` (the NR model) the attention map is computed at 1/4 resolution (stage-2
features plus the upsampled last-stage map; training can supervise it with the true mask, ``lite.train``)
and the head also gets :func:`context_statistics` -- the foreground against a thin ring of background just
around it (CIELAB mean difference, log std ratio) and the seam its boundary leaves (log ratio of the CIELAB
gradient on the boundary band to that inside and outside) -- with the colour statistics above standardised
by a BatchNorm; ``cnn_head=False`` leaves the pooled CNN features out of the head. Without a reference,
these explicit mismatch cues are what an image shows of its harmonization error; the CNN alone learned
next to nothing (validation SRCC about 0.2, test 0.01).
FR mode adds three pooled difference statistics: ln of the mean squared RGB difference over the image, over
``w``, and ln of the fraction of pixels that differ (their ratio approximates the foreground error when no
mask is given). An MLP maps all of this to a MOS-like score in 0..100 (higher is better; ``lite.data``
``mos_from_fmse`` defines the scale it was trained on).

``LiteConfig`` is a frozen :class:`backend.weights.Config`; :func:`backend.weights.save` writes it into the
weights' metadata and :func:`backend.weights.load` rebuilds :class:`LiteHarmonyNet` from it. This module
imports torch; ``lite`` (what the registration's factory imports) imports it lazily.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from backend.iqa.harmonyiqa.lite.model import INPUT_SIZE
from backend.weights import Config

DIFF_THRESHOLD = 4.0 / 255.0  # an RGB difference below this (per channel, rms) counts as unchanged
RING_RADIUS = 4  # pixels (at INPUT_SIZE) of the background ring around the foreground (context statistics)
CONTEXT_FEATURES = 13


@dataclass(frozen=True)
class LiteConfig(Config):
    full_reference: bool = False
    widths: tuple[int, ...] = (16, 32, 48, 64)
    hidden: int = 96
    input_size: int = INPUT_SIZE
    context: bool = False  # attention at 1/4 resolution + explicit foreground-vs-surroundings statistics
    cnn_head: bool = True  # the pooled CNN features enter the head (False: only the explicit statistics)


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean of values (N, C, H, W) under weights (N, 1, H, W), (N, C)."""
    return (values * weights).sum((2, 3)) / weights.sum((2, 3)).clamp_min(1e-4)


def weighted_std(values: torch.Tensor, weights: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Standard deviation of values (N, C, H, W) around ``mean`` (N, C) under weights (N, 1, H, W), (N, C)."""
    spread = ((values - mean[:, :, None, None]) ** 2 * weights).sum((2, 3)) / weights.sum((2, 3)).clamp_min(1e-4)
    return spread.clamp_min(1e-8).sqrt()


def dilate(weights: torch.Tensor, radius: int) -> torch.Tensor:
    """Grey-level dilation (max filter) of (N, 1, H, W) weights by a square of side 2 radius + 1."""
    return nn.functional.max_pool2d(weights, 2 * radius + 1, 1, radius)


def context_statistics(lab: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(N, 13) foreground-vs-surroundings cues under the soft foreground ``weight`` (N, 1, S, S): CIELAB
    mean difference and log std ratio of the foreground against a ``RING_RADIUS`` ring of background just
    around it (x10, so about unit scale), the log ratio of the mean CIELAB gradient on the foreground's
    boundary band to that inside the foreground and to that outside it (a pasted or recoloured region leaves
    a seam), and the foreground's area."""
    ring = (dilate(weight, RING_RADIUS) - weight).clamp_min(0)
    band = (dilate(weight, 1) + dilate(-weight, 1)).clamp(0, 1)  # dilation minus erosion
    inner = (-dilate(-weight, 2)).clamp(0, 1)
    outer = 1 - dilate(weight, 2).clamp(0, 1)
    fg_mean, ring_mean = weighted_mean(lab, weight), weighted_mean(lab, ring)
    fg_std, ring_std = weighted_std(lab, weight, fg_mean), weighted_std(lab, ring, ring_mean)
    padded = nn.functional.pad(lab, (0, 1, 0, 1), mode="replicate")
    gradient = (padded[..., :-1, 1:] - lab).abs() + (padded[..., 1:, :-1] - lab).abs()
    log_band = torch.log(weighted_mean(gradient, band) + 1e-3)
    return torch.cat([10.0 * (fg_mean - ring_mean), torch.log(fg_std / ring_std.clamp_min(1e-4)),
                      log_band - torch.log(weighted_mean(gradient, inner) + 1e-3),
                      log_band - torch.log(weighted_mean(gradient, outer) + 1e-3),
                      weight.mean((1, 2, 3))[:, None]], 1)


def conv_stage(c_in: int, c_out: int, stride: int, convs: int = 2) -> nn.Sequential:
    """``convs`` 3x3 convolutions (the first with ``stride``), each with batch norm and ReLU."""
    layers = []
    for index in range(convs):
        layers += [nn.Conv2d(c_in if index == 0 else c_out, c_out, 3, stride if index == 0 else 1, 1, bias=False),
                   nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class LiteHarmonyNet(nn.Module):
    """Backbone + foreground/background pooling + MLP (module docstring)."""

    config_class = LiteConfig

    def __init__(self, config: LiteConfig):
        super().__init__()
        self.config = config
        in_channels = 5 + (6 if config.full_reference else 0)
        layers, previous = [], in_channels
        for stage, width in enumerate(config.widths):
            layers.append(conv_stage(previous, width, 2, convs=1 if stage == 0 else 2))  # one conv at full size
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
