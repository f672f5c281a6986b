"""Pictures of what drove a harmonization (paper 002 Fig. 3: the routed similarity map).

:func:`similarity_overlay` blends the instance similarity map (Eq. 12), coloured with OpenCV's viridis
map (dark = dissimilar, yellow = similar), over a grey copy of the composite, outlines every background
instance and draws the foreground's outline in white.
"""

from __future__ import annotations

import numpy as np


def _outline(mask: np.ndarray, width: int) -> np.ndarray:
    import cv2

    kernel = np.ones((3, 3), np.uint8)
    eroded = cv2.erode(mask.astype(np.uint8), kernel, iterations=width)
    return mask & ~eroded.astype(bool)


def similarity_overlay(composite: np.ndarray, mask: np.ndarray, similarity_map: np.ndarray,
                       instances: list[np.ndarray] | None = None, opacity: float = 0.6,
                       stretch: bool = False) -> np.ndarray:
    """An RGB uint8 picture of the similarity map over the composite (module docstring).

    ``stretch`` rescales the background instances' similarities to span 0..1 (their cosines often lie
    within a narrow band), so the ranking is visible; the foreground stays at 1.
    """
    import cv2

    if stretch:
        background = (similarity_map > 0) & ~mask
        if background.any():
            low, high = float(similarity_map[background].min()), float(similarity_map[background].max())
            similarity_map = similarity_map.copy()
            similarity_map[background] = (similarity_map[background] - low) / max(high - low, 1e-6) * 0.95 + 0.05

    width = max(1, round(max(composite.shape[:2]) / 400))
    grey = cv2.cvtColor(cv2.cvtColor(composite, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB).astype(np.float64)
    heat = cv2.applyColorMap((np.clip(similarity_map, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB).astype(np.float64)
    covered = (similarity_map > 0)[..., None]
    out = np.where(covered, (1 - opacity) * grey + opacity * heat, 0.5 * grey)
    for instance in instances or []:
        out[_outline(instance, width)] = (40, 40, 40)
    out[_outline(mask, 2 * width)] = (255, 255, 255)
    return np.clip(out, 0, 255).astype(np.uint8)
