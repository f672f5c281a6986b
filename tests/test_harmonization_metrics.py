"""iHarmony4 metrics (paper 002 Sec. 4.1): hand-computed values, the 256x256 protocol and buckets."""

from __future__ import annotations

import numpy as np
import pytest

from backend import registry
from backend.errors import InputError
from backend.harmonization.metrics import (
    MAX_PSNR_DB,
    harmonization_errors,
    psnr_from_mse,
    ratio_bucket,
    summarize,
)


def constant_case(size=256):
    real = np.full((size, size, 3), 100, dtype=np.uint8)
    prediction = real.copy()
    mask = np.zeros((size, size), dtype=bool)
    mask[:64, :64] = True  # 4096 px = 1/16 of the image
    prediction[mask] = (110, 100, 94)  # squared errors 100, 0, 36 inside the foreground
    return prediction, real, mask


def test_hand_computed_values():
    prediction, real, mask = constant_case()
    errors = harmonization_errors(prediction, real, mask)
    # fMSE = sum(mask * err^2) / (3 * sum(mask)) = 4096 * 136 / (3 * 4096)
    assert errors.fmse == pytest.approx(136 / 3)
    # MSE over H x W x 3 = 4096 * 136 / (256 * 256 * 3)
    assert errors.mse == pytest.approx(4096 * 136 / (256 * 256 * 3))
    assert errors.psnr == pytest.approx(10 * np.log10(255**2 / errors.mse))
    assert errors.fpsnr == pytest.approx(10 * np.log10(255**2 / (136 / 3)))
    assert errors.foreground_ratio == pytest.approx(1 / 16)


def test_resize_to_256_protocol_keeps_constant_regions():
    prediction, real, mask = constant_case(size=256)
    big = [np.kron(a, np.ones((2, 2) + ((1,) if a.ndim == 3 else ()), dtype=a.dtype)) for a in (prediction, real, mask)]
    at_512 = harmonization_errors(*big)
    native = harmonization_errors(*big, size=None)
    at_256 = harmonization_errors(prediction, real, mask)
    assert native.fmse == pytest.approx(136 / 3)
    # downscaling by 2 of block-constant images keeps the values away from the mask border
    assert at_512.fmse == pytest.approx(at_256.fmse, rel=0.05)


def test_resizing_is_the_evaluation_scripts_one():
    """Images bicubic (or bilinear, DoveNet's default) and the mask as a 1-bit Pillow image: nearest."""
    from PIL import Image

    from backend.harmonization.metrics import resize_image, resize_mask

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (600, 500, 3), dtype=np.uint8)
    mask = np.zeros((600, 500), dtype=bool)
    mask[40:370, 33:321] = True
    mask[:, 450] = True  # a 1-pixel line: nearest keeps it, bilinear-and-threshold drops it
    as_script = Image.fromarray(mask.astype(np.uint8) * 255).convert("1").resize((256, 256), Image.BICUBIC)
    np.testing.assert_array_equal(resize_mask(mask, 256), np.asarray(as_script))
    for name, method in (("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR)):
        expected = np.asarray(Image.fromarray(image).resize((256, 256), method), dtype=np.float64)
        np.testing.assert_array_equal(resize_image(image, 256, name), expected)
    soft = np.asarray(Image.fromarray(mask.astype(np.float32)).resize((256, 256), Image.BILINEAR)) >= 0.5
    assert not np.array_equal(resize_mask(mask, 256), soft)


def test_identical_images_cap_psnr():
    prediction, real, mask = constant_case()
    errors = harmonization_errors(real, real, mask)
    assert errors.mse == 0 and errors.psnr == MAX_PSNR_DB and psnr_from_mse(0.0) == MAX_PSNR_DB


def test_buckets_and_summary():
    assert [ratio_bucket(r) for r in (0.0, 0.049, 0.05, 0.149, 0.15, 1.0)] == [
        "0-5%", "0-5%", "5-15%", "5-15%", "15-100%", "15-100%"]
    prediction, real, mask = constant_case()
    small = harmonization_errors(prediction, real, mask)
    large_mask = np.zeros_like(mask)
    large_mask[:128, :] = True
    large = harmonization_errors(prediction, real, large_mask)
    table = summarize([small, large])
    assert table["all"]["count"] == 2 and table["5-15%"]["count"] == 1 and table["15-100%"]["count"] == 1
    assert table["all"]["fmse"] == pytest.approx((small.fmse + large.fmse) / 2)
    assert "0-5%" not in table


def test_registered_metrics_and_errors():
    prediction, real, mask = constant_case()
    assert registry.create("ih-fmse").score(prediction, real, mask).score == pytest.approx(136 / 3)
    assert registry.create("ih-mse").score(prediction, real).score == pytest.approx(4096 * 136 / (256 * 256 * 3))
    assert registry.card("ih-fmse").needs_mask and registry.card("ih-fmse").lower_better
    assert not registry.card("ih-psnr").lower_better
    with pytest.raises(InputError, match="foreground mask"):
        registry.create("ih-fpsnr").score(prediction, real)
    with pytest.raises(InputError, match="mask is 10x10"):
        registry.create("ih-fmse").score(prediction, real, np.ones((10, 10), bool))
    with pytest.raises(InputError, match="same size"):
        harmonization_errors(prediction, real[:100], mask)
