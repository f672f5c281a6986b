"""The PromptIQA network (paper 004 Sec. 3.2, Fig. 2, Eq. 2-3) with a configurable visual encoder.

Parts, with the paper's names (and the public code's attribute they correspond to):

* visual encoder V (``visual``): image -> one M = 128-d token. Three encoders, each with its config:
  - ``compact`` (``CompactEncoder``, ``CompactConfig``) (trained here; the first shipped encoder, superseded by ``features``): a small CNN on 128x128 inputs -- a 4x4 stride-4 stem
    (sees every pixel, so it can learn the high-pass filters that reveal noise, blur and blocking),
    one strided 3x3 convolution per further stage, all with batch norm, mean and standard-deviation pooling of every stage, and a
    linear projection to 128. A departure from the paper (which uses MoNet on a ViT-B/8) for CPU cost.
  - ``features`` (``FeatureEncoder``, ``FeaturesConfig``; the shipped embedded encoder, trained here;
    held-out SRCC far above ``compact``'s, see ``assets/promptiqa/features/model.json``): the fixed
    no-reference statistics of ``backend.iqa.promptiqa.features`` (MSCN / NSS at three scales, sharpness,
    noise, blockiness, colour, brightness, spectrum) on 176x176 inputs, standardised by the training
    set's mean and spread (buffers saved with the weights), then a trainable MLP (statistics -> hidden,
    GELU, dropout, hidden -> 128). Needs no pre-trained backbone and little data.
  - ``monet`` (``MoNetEncoder``, ``MoNetConfig``; the paper's encoder, for the authors' checkpoint): a timm ViT (B/8 at 224 by default)
    whose blocks 2, 5, 8, 11 are tapped, three multi-view attention modules (MAL) plus a fusion MAL, one
    ViT block and a small CNN to 128 (``backend.iqa.promptiqa.monet``).
* ISP feature (Eq. 3): the visual token and the score expanded to 128 dims, as two tokens.
* prompt encoder P (``prompt_encoder`` = public ``i_p_fusion``): 3 ViT blocks (128-d, 4 heads) over the
  two tokens, their mean, then the projection (``prompt_projection`` = public ``mlp``: FC 128 -> 64,
  GELU, FC 64 -> 128; the paper says "an FC layer", the public code -- whose weights we load -- has
  this two-layer form, which we follow).
* ISPP fusion FM_ISPP (``ispp_fusion`` = public ``prompt_fusion``): 3 ViT blocks over the n prompt tokens.
* image-prompt fusion FM_IP (``image_prompt_fusion`` + ``fusion_norm`` = public ``blocks`` + ``norm``):
  8 ViT blocks over [image token, n requirement tokens], then LayerNorm.
* regression R (``regression`` = public ``score_block``): FC 128 -> 64, ReLU, dropout, FC 64 -> 1 and a
  sigmoid (public code; scores live in [0, 1] after the prompt's normalisation) on the first token.

Block details follow the public code so its checkpoint loads unchanged: prompt encoder and ISPP fusion
blocks have no qkv bias and LayerNorm eps 1e-5 (timm 0.5.4 defaults), the 8 fusion blocks have qkv bias
and eps 1e-6.

Prompt-side work does not depend on the image being scored, so :meth:`PromptIQANet.requirement` turns a
prompt into the n fused requirement tokens F_AC once (the public code caches F_P and re-runs the ISPP
fusion for every batch; the result is identical), and :meth:`PromptIQANet.score` scores any batch with it.

Configs: ``PromptIQAConfig`` (a frozen :class:`backend.weights.Config`) holds the encoder's config in
``visual`` -- one of ``CompactConfig``, ``FeaturesConfig``, ``MoNetConfig``, told apart in JSON by their
``kind`` -- and the regression dropout. :func:`backend.weights.save` writes it into the weights' metadata and
:func:`backend.weights.load` rebuilds :class:`PromptIQANet` from it (``weights.load_embedded``). Parameter
names are part of the format: the authors' checkpoint is renamed onto them (``hub``) and the shipped
weights were saved with them. This module imports torch and timm; it is imported lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from timm.models.vision_transformer import Block
from torch import nn

from backend.iqa.promptiqa.features import COUNT, encoder_inputs
from backend.iqa.promptiqa.monet import MoNetConfig, MoNetEncoder
from backend.weights import Config

DIM, HEADS = 128, 4


@dataclass(frozen=True)
class CompactConfig(Config):
    """The compact CNN encoder: channels of its four stages and the input side."""

    kind: str = field(default="compact", init=False)
    widths: tuple[int, ...] = (32, 48, 64, 96)
    input_size: int = 128


@dataclass(frozen=True)
class FeaturesConfig(Config):
    """The statistics encoder: width and dropout of its MLP, the input side the statistics are taken at, and the
    registry NR metrics whose scores join the statistics (none in the first shipped model)."""

    kind: str = field(default="features", init=False)
    hidden: int = 256
    dropout: float = 0.1
    input_size: int = 176
    nr_metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptIQAConfig(Config):
    """The whole network: the visual encoder's config and the regression head's dropout."""

    visual: CompactConfig | FeaturesConfig | MoNetConfig = field(default_factory=CompactConfig)
    dropout: float = 0.1


COMPACT, FEATURES = CompactConfig(), FeaturesConfig()


def vit_blocks(count: int, qkv_bias: bool, eps: float, dim: int = DIM, heads: int = HEADS) -> nn.Sequential:
    return nn.Sequential(*[Block(dim, heads, mlp_ratio=4.0, qkv_bias=qkv_bias,
                                 norm_layer=partial(nn.LayerNorm, eps=eps)) for _ in range(count)])


def conv_stage(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CompactEncoder(nn.Module):
    """The embedded CNN encoder: (B, 3, H, W) in 0..1 -> (B, dim)."""

    config_class = CompactConfig

    def __init__(self, config: CompactConfig):
        super().__init__()
        self.config = config
        widths, dim = config.widths, DIM
        stem = nn.Sequential(nn.Conv2d(3, widths[0], 4, 4, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        self.stages = nn.ModuleList([stem] + [conv_stage(a, b, 2) for a, b in zip(widths[:-1], widths[1:], strict=False)])
        self.project = nn.Sequential(nn.Linear(2 * sum(widths) + 6, dim), nn.GELU(), nn.Linear(dim, dim))
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - self.mean) / self.scale
        pooled = [x.mean(dim=(2, 3)), x.flatten(2).std(dim=2)]  # global colour and contrast
        for stage in self.stages:
            x = stage(x)
            pooled += [x.mean(dim=(2, 3)), x.flatten(2).std(dim=2)]
        return self.project(torch.cat(pooled, dim=1))


class FeatureEncoder(nn.Module):
    """The statistics encoder: (B, 3, H, W) in 0..1 -> fixed statistics (no gradient) -> MLP -> (B, dim).

    ``project(statistics)`` is the trainable part alone, for training on statistics computed once.
    ``centre`` and ``spread`` standardise the statistics; training sets them from its images (``fit``).
    """

    config_class = FeaturesConfig

    def __init__(self, config: FeaturesConfig):
        super().__init__()
        self.config = config
        inputs = COUNT + len(config.nr_metrics)
        self.register_buffer("centre", torch.zeros(inputs))
        self.register_buffer("spread", torch.ones(inputs))
        self.mlp = nn.Sequential(nn.Linear(inputs, config.hidden), nn.GELU(), nn.Dropout(config.dropout),
                                 nn.Linear(config.hidden, DIM))

    def fit(self, statistics) -> None:
        """Standardisation from training statistics (N, COUNT): mean and standard deviation."""
        statistics = torch.as_tensor(statistics, dtype=torch.float32)
        self.centre.copy_(statistics.mean(dim=0))
        self.spread.copy_(statistics.std(dim=0).clamp_min(1e-6))

    def project(self, statistics: torch.Tensor) -> torch.Tensor:
        return self.mlp((statistics - self.centre) / self.spread)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = (images.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        statistics = torch.from_numpy(encoder_inputs(list(np.ascontiguousarray(pixels)), self.config.nr_metrics))
        statistics = statistics.to(images.device)
        return self.project(statistics)


ENCODERS = {CompactConfig: CompactEncoder, FeaturesConfig: FeatureEncoder, MoNetConfig: MoNetEncoder}


class PromptIQANet(nn.Module):
    """Visual encoder, prompt encoder, ISPP fusion, image-prompt fusion, regression (module docstring)."""

    config_class = PromptIQAConfig

    def __init__(self, config: PromptIQAConfig):
        super().__init__()
        self.config = config
        self.visual = ENCODERS[type(config.visual)](config.visual)
        self.prompt_encoder = vit_blocks(3, qkv_bias=False, eps=1e-5)
        self.prompt_projection = nn.Sequential(nn.Linear(DIM, DIM // 2), nn.GELU(), nn.Linear(DIM // 2, DIM))
        self.ispp_fusion = vit_blocks(3, qkv_bias=False, eps=1e-5)
        self.image_prompt_fusion = vit_blocks(8, qkv_bias=True, eps=1e-6)
        self.fusion_norm = nn.LayerNorm(DIM)
        self.regression = nn.Sequential(nn.Linear(DIM, DIM // 2), nn.ReLU(), nn.Dropout(config.dropout),
                                        nn.Linear(DIM // 2, 1), nn.Sigmoid())

    @property
    def input_size(self) -> int:
        """The square side images are resized to for the visual encoder."""
        return self.config.visual.input_size

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """V(I): (B, 3, H, W) -> (B, 128)."""
        return self.visual(images)

    def encode_prompt(self, features: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """ISP features (Eq. 3) through the prompt encoder: (..., n, 128), (..., n) -> F_P (..., n, 128)."""
        score_tokens = scores.unsqueeze(-1).expand_as(features)
        pairs = torch.stack([features, score_tokens], dim=-2)  # (..., n, 2, 128)
        shape = pairs.shape
        encoded = self.prompt_encoder(pairs.reshape(-1, 2, DIM)).mean(dim=1)
        return self.prompt_projection(encoded).reshape(*shape[:-2], DIM)

    def requirement(self, features: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """F_AC = FM_ISPP(F_P): prompt (P, n, 128) features and (P, n) scores -> (P, n, 128)."""
        return self.ispp_fusion(self.encode_prompt(features, scores))

    def score(self, image_features: torch.Tensor, requirement: torch.Tensor) -> torch.Tensor:
        """R(FM_IP(V(I), F_AC)) for image features (B, 128) and requirement tokens (B or 1, n, 128)."""
        if requirement.shape[0] != image_features.shape[0]:
            requirement = requirement.expand(image_features.shape[0], -1, -1)
        tokens = torch.cat([image_features.unsqueeze(1), requirement], dim=1)
        fused = self.fusion_norm(self.image_prompt_fusion(tokens))
        return self.regression(fused[:, 0]).squeeze(-1)

    def forward(self, images: torch.Tensor, prompt_images: torch.Tensor, prompt_scores: torch.Tensor) -> torch.Tensor:
        """Score ``images`` (B, 3, H, W) under one prompt (n, 3, H, W) with scores (n,)."""
        features = self.encode_images(torch.cat([images, prompt_images]))
        requirement = self.requirement(features[len(images):].unsqueeze(0), prompt_scores.unsqueeze(0))
        return self.score(features[: len(images)], requirement)
