"""PIQE: perception-based image quality evaluator (no reference; lower is better).

Venkatanath, Praneeth, Bh, Channappayya & Medasani, "Blind image quality evaluation using perception based
features", NCC 2015, Sec. II (Eqs. 1-9): mean-subtracted contrast-normalised luma (7x7 Gaussian, sigma 7/6,
C = 1), 16x16 blocks, active blocks (variance > 0.1), blocks with a noticeable artefact (an edge segment
of 6 pixels with standard deviation < 0.1) or noise (block sigma > 2 beta from the centre/surround
deviation ratio), PIQE = 100 (sum of distortion scores + 1) / (number of active blocks + 1).

Equal to pyiqa 0.1.16's ``PIQE`` arch with default options (``piqe``), including its details: the unrounded
Y of YIQ scaled to 255 / its maximum and rounded; symmetric padding of the right and bottom by
``width % 16`` and ``height % 16`` (not up to the next multiple of 16: blocks that do not fit are dropped);
replicate padding for the Gaussian; the "surround" of the centre/surround ratio drops columns 7 and 9 of a
block (pyiqa removes column 8 from the already shortened row), and a zero surround deviation gives float32's
largest value (``torch.nan_to_num``); unbiased variances.

The decisions are thresholds on float32 statistics, so a rounding difference could flip a block and move
the score by several points. The Gaussian filtering, whose float32 rounding matters most (the local
variance is E[x^2] - mu^2 at the 0..255 scale), is therefore the very convolution pyiqa runs
(``torch.nn.functional.conv2d`` on the same padded float32 input, bit for bit); the luma and its scaling
are bit for bit too (``colour``). Block statistics are float64 with float32 inputs. What we drop for
speed: pyiqa's three full-size masks, which the score does not use, and its index-array padding.

Sides below 8 px make pyiqa raise (the padded side is below 16); we raise InputError. An all-black image
gives NaN in both (the luma is divided by its maximum).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from backend.iqa.classical.fast import check_min_side
from backend.iqa.classical.fast.colour import yiq_channel

BLOCK = 16
ACTIVITY_THRESHOLD = 0.1
IMPAIRED_THRESHOLD = 0.1
SEGMENT = 6
SURROUND_COLUMNS = np.array([c for c in range(BLOCK) if c not in (7, 9)])
FLOAT32_MAX = float(np.finfo(np.float32).max)
MIN_SIDE = 8  # a side s is padded to s + s % 16, which must hold one block


@cache
def gaussian_kernel(size: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    """MATLAB's fspecial('gaussian', size, sigma) as float32."""
    half = (size - 1) / 2
    offsets = np.arange(-half, half + 1)
    weights = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2.0 * sigma * sigma))
    weights[weights < np.finfo(weights.dtype).eps * weights.max()] = 0
    return (weights / weights.sum()).astype(np.float32)


def _normalized(scaled: np.ndarray) -> np.ndarray:
    """(x - mu) / (sigma + 1) with Gaussian mu and sigma, N x H x W float32, computed as pyiqa does."""
    import torch
    import torch.nn.functional as F

    kernel = torch.from_numpy(gaussian_kernel())[None, None]
    with torch.inference_mode():
        image = torch.from_numpy(scaled)[:, None]
        local = lambda t: F.conv2d(F.pad(t, (3, 3, 3, 3), mode="replicate"), kernel)  # noqa: E731
        mean = local(image)
        sigma = torch.sqrt((local(image**2) - mean**2).abs() + float(np.finfo(np.float32).eps))
        return ((image - mean) / (sigma + 1))[:, 0].numpy()


def _unbiased_std(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return np.sqrt(np.var(values, axis=axes, ddof=1, dtype=np.float64))


def _block_score(blocks: np.ndarray) -> float:
    """PIQE of one image from its normalised blocks, B x 16 x 16 float32."""
    variance = np.var(blocks, axis=(1, 2), ddof=1, dtype=np.float64)
    active = variance > ACTIVITY_THRESHOLD

    sigma = np.sqrt(variance)
    centre = _unbiased_std(blocks[:, :, 7:9], (1, 2))
    surround = _unbiased_std(blocks[:, :, SURROUND_COLUMNS], (1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.nan_to_num(centre / surround, nan=0.0, posinf=FLOAT32_MAX, neginf=-FLOAT32_MAX)
        beta = np.abs(sigma - ratio) / np.maximum(sigma, ratio)
    noisy = sigma > 2 * beta  # False where beta is NaN (0 / 0), as in pyiqa

    edges = np.stack([blocks[:, 0, :], blocks[:, :, -1], blocks[:, -1, :], blocks[:, :, 0]], axis=1)
    segments = np.lib.stride_tricks.sliding_window_view(edges, SEGMENT, axis=2)  # B x 4 x 11 x 6
    impaired = (_unbiased_std(segments, (3,)) < IMPAIRED_THRESHOLD).any(axis=(1, 2))

    distortion = np.sum(active * impaired * (1 - variance) + active * noisy * variance)
    return float((distortion + 1) / (1 + np.count_nonzero(active)) * 100)


def piqe(images: np.ndarray) -> np.ndarray:
    """PIQE of each image (N x H x W x 3 uint8)."""
    check_min_side("piqe", images, MIN_SIDE, "(one 16x16 block)")
    height, width = images.shape[1:3]
    luma = yiq_channel(images, 0, np.float32)
    peak = luma.reshape(len(images), -1).max(axis=1)[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # an all-black image gives NaN, as in pyiqa
        scaled = np.rint(np.float32(255) * (luma / peak))
    scaled = np.pad(scaled, ((0, 0), (0, height % BLOCK), (0, width % BLOCK)), mode="symmetric")
    normalized = _normalized(np.ascontiguousarray(scaled))
    rows, cols = normalized.shape[1] // BLOCK, normalized.shape[2] // BLOCK
    blocks = normalized[:, : rows * BLOCK, : cols * BLOCK].reshape(len(images), rows, BLOCK, cols, BLOCK)
    blocks = blocks.transpose(0, 1, 3, 2, 4).reshape(len(images), rows * cols, BLOCK, BLOCK)
    return np.array([_block_score(image_blocks) for image_blocks in blocks])
