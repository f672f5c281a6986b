"""MoNet, the paper's visual encoder (paper 004 Sec. 3.2 B; MoNet = "Mean-opinion Network", its ref. [2]).

Written from the public PromptIQA code's description of the module so that the authors' checkpoint loads
into it (``backend.iqa.promptiqa.hub`` maps the names); sizes are configurable (``MoNetConfig``) so that
tests can build a tiny one. Default (``VITB8``): a timm ViT-B/8 at 224x224 (28x28 patch grid, 768-d), whose
blocks 2, 5, 8 and 11 are tapped (class token dropped) to give four "views";

* three multi-view attention modules (MAL), each: a SAGAN-style self-attention per view (1x1 query/key
  convolutions to C/8, 1x1 value convolution, learned ``gamma``), then a pixel-wise attention over
  (C, views x HW) rows and a channel-wise attention over (HW, views x C) rows (linear q/k/v, softmax of
  q k^T / sqrt(d), residual), averaged, then the mean over the views -> (B, C, HW);
* a fusion MAL over the three MAL outputs, one ViT block (12 heads) over the HW tokens, and a CNN
  (conv 5 -> avg-pool 2 -> conv 3 -> avg-pool 2 -> conv 3 -> avg-pool 3 on the 28x28 grid) to 128 dims.

Two reshapes of the public code are kept exactly because the checkpoint was trained with them (they
regroup memory rather than transpose): the attention output is ``(attn @ v).transpose(1, 2)`` reshaped
back to the input shape, and the pixel-wise rows regroup the (views, C) axis as (C, views).
Input: RGB in 0..1, normalised inside as (x - 0.5) / 0.5 (the public code's ``Normalize(0.5, 0.5)``).

This module imports torch and timm; it is imported lazily (by ``model``, itself imported by the factories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import torch
from timm.models.vision_transformer import Block, VisionTransformer
from torch import nn

from backend.weights import Config


@dataclass(frozen=True)
class MoNetConfig(Config):
    """The MoNet encoder's sizes (``kind`` tells it apart from the other encoders in a ``PromptIQAConfig``)."""

    kind: str = field(default="monet", init=False)
    img_size: int = 224
    patch_size: int = 8
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    taps: tuple[int, ...] = (2, 5, 8, 11)  # ViT blocks whose tokens are the views
    views: int = 3  # multi-view attention modules before the fusion MAL
    cnn_kernels: tuple[int, int, int] = (5, 3, 3)
    cnn_pools: tuple[int, int, int] = (2, 2, 3)
    out_dim: int = 128

    @property
    def input_size(self) -> int:
        """The square side images are resized to (the ViT's input size)."""
        return self.img_size

    @property
    def grid(self) -> int:
        return self.img_size // self.patch_size


VITB8 = MoNetConfig()  # the authors' checkpoint


class RowAttention(nn.Module):
    """Softmax attention among the rows of (B, R, d) with linear q, k, v over d; residual."""

    def __init__(self, d: int):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.scale = d ** -0.5
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, r, d = x.shape
        attention = torch.softmax(self.query(x) @ self.key(x).transpose(-2, -1) * self.scale, dim=-1)
        mixed = (attention @ self.value(x)).transpose(1, 2).reshape(b, r, d)  # public code's regrouping
        return self.drop(mixed) + x


class ViewAttention(nn.Module):
    """SAGAN self-attention on one (B, C, H, W) view."""

    def __init__(self, channels: int):
        super().__init__()
        self.query = nn.Conv2d(channels, channels // 8, 1)
        self.key = nn.Conv2d(channels, channels // 8, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).view(b, -1, h * w).transpose(1, 2)
        attention = torch.softmax(q @ self.key(x).view(b, -1, h * w), dim=-1)
        out = (self.value(x).view(b, c, h * w) @ attention.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out + x


class MultiViewAttention(nn.Module):
    """MAL: ``count`` views (count, B, C, H, W) on a ``grid`` x ``grid`` map -> (B, C, HW)."""

    def __init__(self, channels: int, count: int, grid: int):
        super().__init__()
        self.count, self.channels = count, channels
        self.view_attention = nn.ModuleList([ViewAttention(channels) for _ in range(count)])
        self.pixel_attention = RowAttention(grid * grid * count)
        self.channel_attention = RowAttention(channels * count)

    def forward(self, features) -> torch.Tensor:
        stacked = torch.stack([att(f) for att, f in zip(self.view_attention, features, strict=False)])  # F, B, C, H, W
        f, b, c = stacked.shape[:3]
        rows = stacked.permute(1, 0, 2, 3, 4).reshape(b, f * c, -1)  # B, (F C), HW
        pixel = self.pixel_attention(rows.reshape(b, c, -1))  # rows regrouped as (C, F HW)
        channel = self.channel_attention(rows.transpose(1, 2).contiguous())  # B, HW, (F C)
        mixed = (pixel.reshape(b, f * c, -1) + channel.transpose(1, 2)) / 2
        return mixed.view(b, f, c, -1).mean(dim=1)


def quality_head(config: MoNetConfig) -> nn.Sequential:
    """The CNN from the fused (embed_dim, grid, grid) map to ``out_dim``."""
    (k1, k2, k3), (p1, p2, p3) = config.cnn_kernels, config.cnn_pools
    return nn.Sequential(
        nn.Conv2d(config.embed_dim, 256, k1), nn.BatchNorm2d(256), nn.ReLU(inplace=True), nn.AvgPool2d(p1),
        nn.Conv2d(256, 128, k2), nn.BatchNorm2d(128), nn.ReLU(inplace=True), nn.AvgPool2d(p2),
        nn.Conv2d(128, config.out_dim, k3), nn.BatchNorm2d(config.out_dim), nn.ReLU(inplace=True), nn.AvgPool2d(p3),
    )


class MoNetEncoder(nn.Module):
    """ViT taps -> MALs -> fusion MAL -> ViT block -> CNN: (B, 3, S, S) in 0..1 -> (B, out_dim)."""

    config_class = MoNetConfig

    def __init__(self, config: MoNetConfig):
        super().__init__()
        self.config = config
        dim, grid = config.embed_dim, config.grid
        self.backbone = VisionTransformer(img_size=config.img_size, patch_size=config.patch_size, embed_dim=dim,
                                          depth=config.depth, num_heads=config.num_heads, num_classes=0)
        self.backbone.norm = nn.Identity()
        self.views = nn.ModuleList([MultiViewAttention(dim, len(config.taps), grid) for _ in range(config.views)])
        self.fusion = MultiViewAttention(dim, config.views, grid)
        self.block = Block(dim, config.num_heads, qkv_bias=False, norm_layer=partial(nn.LayerNorm, eps=1e-5))
        self.head = quality_head(config)

    def tapped(self, images: torch.Tensor) -> list[torch.Tensor]:
        vit, taps = self.backbone, self.config.taps
        x = vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(images))))
        outputs = []
        for index, block in enumerate(vit.blocks):
            x = block(x)
            if index in taps:
                outputs.append(x[:, vit.num_prefix_tokens:])
            if index >= max(taps):
                break
        return outputs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        b, dim, grid = images.shape[0], self.config.embed_dim, self.config.grid
        views = [t.transpose(1, 2).reshape(b, dim, grid, grid) for t in self.tapped((images - 0.5) / 0.5)]
        opinions = [mal(views).view(b, dim, grid, grid) for mal in self.views]
        fused = self.fusion(opinions).transpose(1, 2)  # B, HW, C
        quality = self.block(fused).transpose(1, 2).reshape(b, dim, grid, grid)
        return self.head(quality).flatten(1)
