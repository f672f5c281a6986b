"""The outline-inverse harmonizer (``backend.harmonization.outline``): it undoes a known affine recolouring
from a blurred outline, falls back to the composite on a hard edge, keeps the background and refuses bad masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend import registry
from backend.errors import InputError
from backend.harmonization import outline
from backend.harmonization.metrics import harmonization_errors

SIZE = 128
T_MATRIX = np.array([[0.8, 0.1, 0.0], [0.0, 0.9, 0.1], [0.05, 0.0, 1.1]])
T_OFFSET = np.array([25.0, -15.0, 20.0])


def scene(blur: float, textured_background: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A real image (a disc whose colour varies across it, on a background whose colour varies around it) and
    the disc's mask; the edge is blurred by a Gaussian of ``blur`` px (0 = a hard edge)."""
    import cv2

    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    if textured_background:
        background = np.stack([40 + 150 * x / SIZE, 60 + 120 * y / SIZE, 170 - 100 * x / SIZE], -1)
    else:
        background = np.broadcast_to(np.array([70.0, 110.0, 150.0]), (SIZE, SIZE, 3))
    cx = cy = SIZE / 2
    disc = np.stack([190 + 1.2 * (x - cx), 90 + 1.0 * (y - cy), 60 + 0.6 * (x - cx) - 0.6 * (y - cy)], -1)
    mask = (x - cx) ** 2 + (y - cy) ** 2 <= 38**2
    real = np.where(mask[..., None], disc, background)
    if blur > 0:
        real = cv2.GaussianBlur(real, (0, 0), blur)
    return np.clip(np.rint(real), 0, 255).astype(np.uint8), mask


def recoloured(real: np.ndarray, mask: np.ndarray) -> np.ndarray:
    composite = real.copy()
    composite[mask] = np.clip(np.rint(real[mask] @ T_MATRIX.T + T_OFFSET), 0, 255).astype(np.uint8)
    return composite


def test_recovers_the_inverse_of_a_known_affine_recolouring():
    real, mask = scene(blur=1.2)
    composite = recoloured(real, mask)
    image, details = outline.harmonize_arrays(composite, mask)
    assert not details["fallback"] and details["mixed_pixels"] > 100
    before = harmonization_errors(composite, real, mask).fmse
    after = harmonization_errors(image, real, mask).fmse
    assert before > 300
    assert after < 0.1 * before, (before, after)  # measured 0.074 (the ridge toward the identity keeps a little)
    weak_prior, _ = outline.harmonize_arrays(composite, mask, strength=1e-3)
    assert harmonization_errors(weak_prior, real, mask).fmse < 0.05 * before  # measured 0.038
    # the map itself: applied to the recoloured object colours, it gives back the real ones
    A, t, mu = (np.array(details["inverse_map"][k]) for k in ("A", "t", "mu"))
    pixels = composite[mask].astype(np.float64)
    mapped_error = np.abs((pixels - mu) @ A.T + t - real[mask]).mean()
    assert mapped_error < 0.3 * np.abs(pixels - real[mask]).mean(), mapped_error


def test_a_hard_edge_falls_back_to_the_composite():
    real, mask = scene(blur=0.0, textured_background=False)
    composite = recoloured(real, mask)
    image, details = outline.harmonize_arrays(composite, mask)
    assert details["fallback"] and details["mixed_pixels"] < outline.MIN_PIXELS
    assert np.array_equal(image, composite)


def test_registered_harmonizer_keeps_the_background_and_refuses_bad_masks():
    model = registry.create("outline-inverse")
    real, mask = scene(blur=1.2)
    composite = recoloured(real, mask)
    result = model.harmonize(composite, mask)
    assert result.image.shape == composite.shape and result.image.dtype == np.uint8
    assert np.array_equal(result.image[~mask], composite[~mask])
    assert not np.array_equal(result.image[mask], composite[mask])
    with pytest.raises(InputError):
        model.harmonize(composite, mask[:-8])
    with pytest.raises(InputError):
        model.harmonize(composite, np.zeros_like(mask))


def test_the_equation_is_the_cross_product_of_the_outline_direction():
    # one outline pixel: B = 0, p_out = (10, 0, 0); a map sending c to (50, 0, 0) satisfies it, (0, 50, 0) does not
    cross = outline.cross_matrix(np.array([[10.0, 0.0, 0.0]]))[0]
    assert np.allclose(cross @ np.array([50.0, 0.0, 0.0]), 0.0)
    assert np.linalg.norm(cross @ np.array([0.0, 50.0, 0.0])) == pytest.approx(500.0)


def test_the_harmonize_tab_shows_the_outline_inverse_first_only_when_it_had_evidence():
    from backend.harmonization.base import HarmonizationResult
    from backend.harmonization.service import MethodResult
    from ui.harmonize import default_shown

    image = np.zeros((4, 4, 3), np.uint8)

    def run(fallback: bool, fmse: dict[str, float] | None = None) -> list[MethodResult]:
        details = {"outline-inverse": {"fallback": fallback}}
        return [MethodResult(name, HarmonizationResult(image, details.get(name, {})), 0.0,
                             {"fmse": (fmse or {}).get(name, 0.0)})
                for name in ("composite", "srh-tiny", "semantic-routing", "outline-inverse")]

    assert default_shown(run(fallback=False), has_reference=False) == "outline-inverse"
    assert default_shown(run(fallback=True), has_reference=False) == "semantic-routing"
    with_reference = run(False, {"srh-tiny": 50.0, "semantic-routing": 80.0, "outline-inverse": 90.0})
    assert default_shown(with_reference, has_reference=True) == "srh-tiny"


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), height=st.integers(1, 40), width=st.integers(1, 40),
       kind=st.sampled_from(["noise", "blobs", "full", "one pixel"]))
def test_any_mask_gives_a_valid_image_or_a_sentence(seed, height, width, kind):
    """Fuzzed masks (random bits, blurred blobs, everything, a single pixel) on random images: the harmonizer
    returns an 8-bit image of the same size with the background untouched and a finite map, or an InputError."""
    import cv2

    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "noise":
        mask = rng.random((height, width)) < 0.5
    elif kind == "blobs":
        mask = cv2.GaussianBlur(rng.random((height, width)), (0, 0), 3) > 0.5
    elif kind == "full":
        mask = np.ones((height, width), bool)
    else:
        mask = np.zeros((height, width), bool)
        mask[rng.integers(height), rng.integers(width)] = True
    try:
        result = registry.create("outline-inverse").harmonize(image, mask)
    except InputError:
        return
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    assert np.array_equal(result.image[~mask], image[~mask])
    assert np.all(np.isfinite(result.details["inverse_map"]["A"])) and np.all(np.isfinite(result.details["inverse_map"]["t"]))
