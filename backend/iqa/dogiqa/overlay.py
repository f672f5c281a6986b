"""The Dog-IQA picture (paper 003 Fig. 5): every region's mask in its own colour, numbered, with its score.

Masks are blended over the image (later masks on top where SAM masks overlap; the remainder region is
hatched grey so it reads as "everything else"), outlined, and labelled ``#index: score`` at the most
interior point of the mask (the maximum of its distance transform).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
           (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180))


def colour(index: int) -> tuple[int, int, int]:
    return PALETTE[(index - 1) % len(PALETTE)]


def _interior_point(mask: np.ndarray) -> tuple[int, int]:
    import cv2

    distance = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(x), int(y)


def region_overlay(image: np.ndarray, regions: Sequence, scores: Sequence[float] | None = None,
                   opacity: float = 0.45) -> np.ndarray:
    """An RGB uint8 picture of the regions over ``image`` (module docstring)."""
    import cv2

    out = image.astype(np.float64).copy()
    height, width = image.shape[:2]
    line = max(1, round(max(height, width) / 500))
    for region in regions:
        mask = region.mask
        if region.kind == "remainder":
            yy, xx = np.mgrid[0:height, 0:width]
            hatch = mask & (((xx + yy) // (4 * line)) % 2 == 0)
            out[hatch] = (1 - opacity) * out[hatch] + opacity * np.array((128, 128, 128))
        else:
            out[mask] = (1 - opacity) * out[mask] + opacity * np.array(colour(region.index))
    out = np.clip(out, 0, 255).astype(np.uint8)
    for region in regions:
        contours, _ = cv2.findContours(region.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        edge = (200, 200, 200) if region.kind == "remainder" else colour(region.index)
        cv2.drawContours(out, contours, -1, edge, line)
    scale = max(0.4, max(height, width) / 1400)
    thickness = max(1, round(2 * scale))
    for position, region in enumerate(regions):
        text = f"#{region.index}" + ("" if scores is None else f": {scores[position]:.2f}")
        x, y = _interior_point(region.mask)
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        x = min(max(0, x - w // 2), max(0, width - w))
        y = min(max(h + base, y + h // 2), height - base)
        cv2.rectangle(out, (x - 2, y - h - 2), (x + w + 2, y + base), (0, 0, 0), -1)
        cv2.putText(out, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out
