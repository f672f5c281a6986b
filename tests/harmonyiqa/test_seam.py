"""The training-free seam cue (issue #23): a recoloured region's outline, with and without the mask."""

from __future__ import annotations

import numpy as np
import pytest

from backend import registry
from backend.errors import InputError
from backend.iqa.harmonyiqa.seam import outline_residuals, score_from_seam, seam_of


def blurred_scene(size: int = 128):
    """A textured background with a smooth-edged disc (the blur of a lens): (image, mask, disc coverage)."""
    import cv2

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    coverage = ((yy - size / 2) ** 2 + (xx - size / 2.2) ** 2 < (size / 4) ** 2).astype(np.float32)
    coverage = cv2.GaussianBlur(coverage, (0, 0), 1.2)
    background = np.stack([60 + 40 * xx / size, 120 + 30 * yy / size, 90 + 0 * xx], -1)
    background = background + rng.normal(0, 2.0, background.shape)
    disc = np.array([200.0, 70.0, 50.0])
    image = coverage[..., None] * disc + (1 - coverage[..., None]) * background
    return np.clip(image, 0, 255).astype(np.uint8), coverage >= 0.5


def recolour(image: np.ndarray, mask: np.ndarray, amount: float) -> np.ndarray:
    """The masked pixels under an affine colour change, ``amount`` of the way (0 = unchanged)."""
    out = image.astype(np.float64)
    changed = out[mask] * np.array([0.55, 1.2, 1.5]) + np.array([10.0, 40.0, 30.0])
    out[mask] = out[mask] + amount * (changed - out[mask])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def test_seam_grows_with_the_colour_change_and_real_scores_best():
    image, mask = blurred_scene()
    seams = [seam_of(recolour(image, mask, amount), mask) for amount in (0.0, 0.3, 0.6, 1.0)]
    assert seams == sorted(seams) and seams[-1] > 3 * seams[0], seams
    parts = outline_residuals(recolour(image, mask, 1.0), mask)
    assert parts["inside"] > 0 and parts["outside"] > 0 and parts["pixels"] > 50
    assert score_from_seam(0.0) == 100.0 and score_from_seam(33.0) == pytest.approx(50.0)


def test_registered_cue_with_and_without_the_mask():
    model = registry.create("harmonyiqa-seam")
    image, mask = blurred_scene()
    composite = recolour(image, mask, 1.0)
    with_mask = [model.score(x, None, mask) for x in (image, composite)]
    assert with_mask[0].score > with_mask[1].score and with_mask[0].details["mask_used"]
    without = [model.score(x) for x in (image, composite)]
    assert without[0].score > without[1].score and not without[1].details["mask_used"]
    assert without[1].details["found_region_fraction"] > 0
    with pytest.raises(InputError, match="mask"):
        model.score(composite, None, mask[:-4])
