"""The semantic-routed harmonization network of paper 002 (Sec. 3.1, 3.4; Eq. 1-2, 13-16) in torch.

Layout (Fig. 2): 3x3 conv embedding -> encoder of STBs at three scales (1, 1/2, 1/4; downsampling by a
3x3 conv + PixelUnshuffle as in Restormer) -> decoder of ISTBs at 1/2 and 1 (upsampling by conv +
PixelShuffle, skip connections concatenated and reduced by a 1x1 conv) -> refinement ISTBs -> 3x3 conv.

- STB (Eq. 13-16) is the Restormer block: bias-free LayerNorm over channels; MDTA (1x1 conv to Q, K, V +
  3x3 depth-wise conv, L2-normalised q and k, channel attention softmax(q k^T * temperature) of size
  C/h x C/h with a learnable temperature per head, 1x1 output projection, residual); GDFN (1x1 conv to
  2 x hidden, 3x3 depth-wise, gelu(x1) * x2, 1x1 back, residual). Bias-free convolutions throughout.
- ISTB is the same block with K' = K x S and V' = V x S (Eq. 1-2), S the similarity map (Eq. 12) resized
  to the block's scale (bilinear), broadcast over channels; keys and values of dissimilar regions are
  thus damped before the channel covariance is formed, so the style statistics the attention transfers
  come from the instances that look like the foreground.

Input: composite (RGB in [0, 1]), foreground mask and similarity map, concatenated (5 channels).
Output (departure, documented): instead of an image, the last conv predicts a per-pixel affine colour
transform (a 3x3 matrix and an offset, 12 channels, zero-initialised so the untrained network returns
the composite) applied to the composite's foreground: out = comp + m * ((A - I) comp + b). A colour
transform is what composites need (their foreground differs by a colour change, not by structure), it
trains in minutes on a CPU, and because it is smooth it can be predicted at a working resolution and
upsampled to apply to a full-resolution image without losing detail (as CDTNet / Harmonizer do).

``global_transform`` (on in the shipped tiny model) averages the per-pixel transform over the foreground,
so one colour transform is applied to the whole object: with only a few dozen training photos, the
per-pixel version memorised its training photos (validation fMSE above the composite's) while the global
one generalises.

Sizes: ``CONFIGS["full"]`` follows Restormer's defaults reduced to three levels (dim 48, heads 1/2/4,
blocks 4/6/6, refinement 4, FFN factor 2.66) for GPU training; ``CONFIGS["tiny"]`` is the shipped CPU
model. ``NetworkConfig`` is a frozen :class:`backend.weights.Config`: :func:`backend.weights.save` writes it
into the weights' metadata and :func:`backend.weights.load` rebuilds the network from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from backend.weights import Config


@dataclass(frozen=True)
class NetworkConfig(Config):
    dim: int = 48
    heads: tuple[int, int, int] = (1, 2, 4)
    blocks: tuple[int, int, int] = (4, 6, 6)
    refinement_blocks: int = 4
    ffn_factor: float = 2.66
    in_channels: int = 5
    use_similarity: bool = True
    global_transform: bool = False  # one transform per image: the per-pixel map averaged over the foreground


CONFIGS = {
    "full": NetworkConfig(),
    "tiny": NetworkConfig(dim=16, heads=(1, 2, 4), blocks=(1, 2, 2), refinement_blocks=1, global_transform=True),
}


class LayerNorm2d(nn.Module):
    """Bias-free LayerNorm over the channels of a BxCxHxW tensor (Restormer's BiasFree_LayerNorm)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.var(dim=1, keepdim=True, unbiased=False)
        return x / torch.sqrt(variance + 1e-5) * self.weight[None, :, None, None]


class ChannelAttention(nn.Module):
    """MDTA (Eq. 13-14), optionally routed: K' = K x S, V' = V x S (Eq. 1-2)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, 1, bias=False)
        self.qkv_dw = nn.Conv2d(dim * 3, dim * 3, 3, padding=1, groups=dim * 3, bias=False)
        self.project = nn.Conv2d(dim, dim, 1, bias=False)

    def forward(self, x: torch.Tensor, similarity: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv_dw(self.qkv(x)).chunk(3, dim=1)
        if similarity is not None:
            k, v = k * similarity, v * similarity
        q, k, v = (t.reshape(b, self.heads, c // self.heads, h * w) for t in (q, k, v))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attention = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)
        return self.project((attention @ v).reshape(b, c, h, w))


class GatedFeedForward(nn.Module):
    """GDFN (Eq. 15-16)."""

    def __init__(self, dim: int, factor: float):
        super().__init__()
        hidden = int(dim * factor)
        self.project_in = nn.Conv2d(dim, hidden * 2, 1, bias=False)
        self.dw = nn.Conv2d(hidden * 2, hidden * 2, 3, padding=1, groups=hidden * 2, bias=False)
        self.project_out = nn.Conv2d(hidden, dim, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.dw(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(x1) * x2)


class StyleTransferBlock(nn.Module):
    """STB; with ``routed=True`` the ISTB of the decoder (keys and values scaled by the similarity map)."""

    def __init__(self, dim: int, heads: int, ffn_factor: float, routed: bool = False):
        super().__init__()
        self.routed = routed
        self.norm1, self.attention = LayerNorm2d(dim), ChannelAttention(dim, heads)
        self.norm2, self.ffn = LayerNorm2d(dim), GatedFeedForward(dim, ffn_factor)

    def forward(self, x: torch.Tensor, similarity: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attention(self.norm1(x), similarity if self.routed else None)
        return x + self.ffn(self.norm2(x))


class Stage(nn.Module):
    def __init__(self, count: int, dim: int, heads: int, ffn_factor: float, routed: bool):
        super().__init__()
        self.blocks = nn.ModuleList(StyleTransferBlock(dim, heads, ffn_factor, routed) for _ in range(count))

    def forward(self, x: torch.Tensor, similarity: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, similarity)
        return x


def _down(dim: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(dim, dim // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))


def _up(dim: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(dim, dim * 2, 3, padding=1, bias=False), nn.PixelShuffle(2))


class SemanticRoutedHarmonizer(nn.Module):
    """Encoder of STBs, decoder of ISTBs; predicts a per-pixel affine colour transform (module docstring)."""

    OUTPUT_CHANNELS = 12
    config_class = NetworkConfig

    def __init__(self, config: NetworkConfig = CONFIGS["full"]):
        super().__init__()
        self.config = config
        d, (h1, h2, h3), (b1, b2, b3) = config.dim, config.heads, config.blocks
        f, routed = config.ffn_factor, config.use_similarity
        self.embed = nn.Conv2d(config.in_channels, d, 3, padding=1, bias=False)
        self.encoder1 = Stage(b1, d, h1, f, routed=False)
        self.down1 = _down(d)
        self.encoder2 = Stage(b2, 2 * d, h2, f, routed=False)
        self.down2 = _down(2 * d)
        self.latent = Stage(b3, 4 * d, h3, f, routed=False)
        self.up2 = _up(4 * d)
        self.reduce2 = nn.Conv2d(4 * d, 2 * d, 1, bias=False)
        self.decoder2 = Stage(b2, 2 * d, h2, f, routed=routed)
        self.up1 = _up(2 * d)
        self.decoder1 = Stage(b1, 2 * d, h1, f, routed=routed)
        self.refinement = Stage(config.refinement_blocks, 2 * d, h1, f, routed=routed)
        self.output = nn.Conv2d(2 * d, self.OUTPUT_CHANNELS, 3, padding=1, bias=False)
        nn.init.zeros_(self.output.weight)

    def features(self, composite: torch.Tensor, mask: torch.Tensor, similarity: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every scale's feature map (for inspection and the shape tests); H and W must be multiples of 4."""
        if composite.shape[-1] % 4 or composite.shape[-2] % 4:
            raise ValueError(f"height and width must be multiples of 4, got {tuple(composite.shape[-2:])}")
        if not self.config.use_similarity:
            similarity = torch.ones_like(similarity)
        s1 = similarity
        s2 = F.interpolate(similarity, scale_factor=0.5, mode="bilinear", align_corners=False)
        x = self.embed(torch.cat([composite, mask, similarity], dim=1))
        e1 = self.encoder1(x)
        e2 = self.encoder2(self.down1(e1))
        latent = self.latent(self.down2(e2))
        d2 = self.decoder2(self.reduce2(torch.cat([self.up2(latent), e2], dim=1)), s2)
        d1 = self.decoder1(torch.cat([self.up1(d2), e1], dim=1), s1)
        refined = self.refinement(d1, s1)
        return {"encoder1": e1, "encoder2": e2, "latent": latent, "decoder2": d2, "decoder1": d1,
                "refined": refined, "transform": self.output(refined)}

    def forward(self, composite: torch.Tensor, mask: torch.Tensor, similarity: torch.Tensor) -> torch.Tensor:
        """The transform (B x 12 x H x W, or B x 12 x 1 x 1 when global): 9 entries of A - I, then the offset b."""
        transform = self.features(composite, mask, similarity)["transform"]
        if self.config.global_transform:
            weight = mask / mask.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
            transform = (transform * weight).sum(dim=(2, 3), keepdim=True)
        return transform


def apply_transform(composite: torch.Tensor, mask: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
    """out = comp + m * ((A - I) comp + b), transform upsampled to the composite's size when smaller."""
    if transform.shape[-2:] != composite.shape[-2:]:
        transform = F.interpolate(transform, size=composite.shape[-2:], mode="bilinear", align_corners=False)
    b, _, h, w = composite.shape
    delta = transform[:, :9].reshape(b, 3, 3, h, w)
    change = torch.einsum("bijhw,bjhw->bihw", delta, composite) + transform[:, 9:12]
    return (composite + mask * change).clamp(0.0, 1.0)
