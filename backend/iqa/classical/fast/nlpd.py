"""NLPD: normalized Laplacian pyramid distance on the luma channel.

Laparra, Ballé, Berardino & Simoncelli, "Perceptual image quality assessment using a normalized Laplacian
pyramid", Electronic Imaging 2016, Sec. 2 (Eqs. 1-3): a 6-level Laplacian pyramid (5x5 binomial-like filter
[0.05, 0.25, 0.4, 0.25, 0.05]^2, downsampling by 2), each level divided by sigma_k plus a 3x3 weighted sum of
its neighbours' magnitudes (the paper's fitted sigmas and filters), then the mean over levels of the RMS
difference between the two images' normalized levels.

Equal to pyiqa 0.1.16's ``NLPD`` arch with default options (``nlpd``: 1 channel, the Y of YIQ in [0, 1],
*not* rounded to 8 bits): downsampling correlates with the 5x5 filter after symmetric (edge-repeating)
padding of 2 and keeps even positions; upsampling puts 4x the replicate-padded coarse level on even
positions of a zero image, filters with zero padding and crops (dropping the last row/column when the finer
level is odd); the 3x3 normalisation filters are convolved (pyiqa rotates them by 180 degrees and
correlates) with zero padding. Everything is float32 as in pyiqa (OpenCV filters), so scores differ only by
the order of float32 additions (about 1e-7).
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.iqa.classical.fast.colour import yiq_channel

LEVELS = 6
BINOMIAL = np.array([0.05, 0.25, 0.4, 0.25, 0.05], dtype=np.float32)
SIGMAS = np.array([0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782], dtype=np.float32)
# The paper's 3x3 neighbour weights for levels 1..6, as convolution kernels (MATLAB conv2).
NEIGHBOUR_WEIGHTS = np.array([
    [[0, 0.1011, 0], [0.1493, 0, 0.1460], [0, 0.1015, 0]],
    [[0, 0.0757, 0], [0.1986, 0, 0.1846], [0, 0.0837, 0]],
    [[0, 0.0477, 0], [0.2138, 0, 0.2243], [0, 0.0467, 0]],
    [[0, 0, 0], [0.2503, 0, 0.2616], [0, 0, 0]],
    [[0, 0, 0], [0.2598, 0, 0.2552], [0, 0, 0]],
    [[0, 0, 0], [0.2215, 0, 0.0717], [0, 0, 0]],
], dtype=np.float32)


def _downsample(plane: np.ndarray) -> np.ndarray:
    filtered = cv2.sepFilter2D(plane, cv2.CV_32F, BINOMIAL, BINOMIAL, borderType=cv2.BORDER_REFLECT)
    return filtered[::2, ::2]


def _upsample(coarse: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    padded = cv2.copyMakeBorder(coarse, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    stuffed = np.zeros((2 * padded.shape[0], 2 * padded.shape[1]), dtype=np.float32)
    stuffed[::2, ::2] = 4 * padded
    filtered = cv2.sepFilter2D(stuffed, cv2.CV_32F, BINOMIAL, BINOMIAL, borderType=cv2.BORDER_CONSTANT)
    return filtered[2 : 2 + shape[0], 2 : 2 + shape[1]]


def _normalize(level: np.ndarray, index: int) -> np.ndarray:
    kernel = np.ascontiguousarray(NEIGHBOUR_WEIGHTS[index][::-1, ::-1])  # convolution = flipped correlation
    neighbours = cv2.filter2D(np.abs(level), cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    return level / (SIGMAS[index] + neighbours)


def normalized_pyramid(luma: np.ndarray) -> list[np.ndarray]:
    levels = []
    fine = luma
    for index in range(LEVELS - 1):
        coarse = _downsample(fine)
        levels.append(_normalize(fine - _upsample(coarse, fine.shape), index))
        fine = coarse
    levels.append(_normalize(fine, LEVELS - 1))
    return levels


def nlpd(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """NLPD of each image (N x H x W x 3 uint8) against its reference (lower is better)."""
    distorted, reference = yiq_channel(images, 0, np.float32), yiq_channel(references, 0, np.float32)
    scores = np.empty(len(images))
    for index, (x, y) in enumerate(zip(distorted, reference, strict=True)):
        distances = [
            np.sqrt(np.mean(np.square(a - b, dtype=np.float64)))
            for a, b in zip(normalized_pyramid(x), normalized_pyramid(y), strict=True)
        ]
        scores[index] = np.mean(distances)
    return scores
