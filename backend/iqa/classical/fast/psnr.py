"""PSNR on RGB: 10 log10(1 / (MSE + 1e-8)) with pixels scaled to [0, 1] (peak 1), averaged over all channels.

Equal to pyiqa 0.1.16's ``PSNR`` arch with default options (``psnr``: RGB, no border crop). We take the sum of
squared 8-bit differences exactly (``cv2.norm``, integers) and divide by 255^2 and the number of values;
pyiqa squares float32 differences of ``float32(u / 255)`` and averages them in float32, so scores differ by
its rounding (about 1e-6 dB). Identical images score 80 dB, as in pyiqa.
"""

from __future__ import annotations

import cv2
import numpy as np

EPS = 1e-8


def psnr(images: np.ndarray, references: np.ndarray) -> np.ndarray:
    """PSNR (dB) of each image (N x H x W x 3 uint8) against its reference."""
    scores = np.empty(len(images))
    for index, (image, reference) in enumerate(zip(images, references, strict=True)):
        mse = cv2.norm(image, reference, cv2.NORM_L2SQR) / (image.size * 255.0**2)
        scores[index] = 10 * np.log10(1.0 / (mse + EPS))
    return scores
