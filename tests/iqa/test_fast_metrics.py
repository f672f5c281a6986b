"""The fast classical metrics (backend.iqa.classical.fast) equal pyiqa 0.1.16 called directly, within 1e-4 per value.

Inputs: scikit-image photos (RGB: astronaut, coffee, chelsea; greyscale content R=G=B: camera) resized to odd
and even sizes, each against Gaussian noise, Gaussian blur, JPEG (Pillow, quality 15), a colour shift and
itself; pyiqa gets ``float32(uint8 / 255)`` tensors as ``backend.iqa.classical`` gives it. Each metric is
also held to ``TIGHT_TOLERANCE`` (about 100x the agreement it reaches, never above 1e-4), so a changed
equation, constant, colour weight, padding or pooling fails a test (checked when writing this file by
changing one constant per metric by 1-2 %; CW-SSIM's 1e-12 is caught by the flat-image test).

One looser bound, forced by pyiqa itself: VIF. pyiqa computes the covariance of the reference's 3x3
neighbourhoods (hundreds of thousands of samples), its pseudo-inverse and eigenvalues in float32; the
matrix is ill-conditioned, so pyiqa's own float32 value drifts from the same formula in float64 by up to
2.2e-4 at 383x511 (1.2e-2 at 1024x768). Our VIF equals pyiqa with only that step run in float64 within about
1e-6 (the rest is pyiqa's remaining float32 steps, e.g. 0.9999989 for an image against itself; the test
allows 1e-5), and plain pyiqa within 1e-3 at the sizes used here.

Fused multiply-adds. pyiqa's colour matrix product is a ``torch.matmul``; on some CPUs (this project's
AVX-512 machines of 2026-12-07) torch evaluates it as a chain of fused multiply-adds
``fma(b, wb, fma(g, wg, r wr))``, which rounds once where the plain order rounds twice, so the exact decimal
ties get a Y one level apart. The equality tests therefore give pyiqa its own formula evaluated in the plain
order (:func:`plain_order_rgb2yiq`, patched into pyiqa for this module) on every machine, and
:func:`test_plain_pyiqa_luma_differs_only_on_ties` pins what the fused order changes: only tie pixels, by at
most one level, and :func:`fused_order_luma` (the fused order emulated) equals it there.

The default run (``-m "not slow"``) takes about half a minute; the slow tests add every photo at every size
and all 2^24 RGB triples for the luma.
"""

from __future__ import annotations

import io
import warnings
from functools import cache

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from backend.errors import InputError
from backend.iqa.classical.fast import FAST_METRICS, FULL_REFERENCE, fast_scores
from backend.iqa.classical.fast.colour import luma_255


def plain_order_rgb2yiq(x: torch.Tensor) -> torch.Tensor:
    """pyiqa's ``rgb2yiq`` with its matrix product written out, red + green, then + blue, each step rounded."""
    weights = torch.tensor([[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]]).to(x)
    red, green, blue = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return torch.cat([(red * weights[row, 0] + green * weights[row, 1]) + blue * weights[row, 2] for row in range(3)], 1)


def fused_order_luma(images: np.ndarray) -> np.ndarray:
    """Y x 255, rounded, in the order torch takes where it fuses multiply-adds, ``fma(b, wb, fma(g, wg, r wr))``:
    each product is exact in float64 and each sum is rounded once to float32."""
    unit = (np.arange(256, dtype=np.float32) / np.float32(255)).astype(np.float64)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32).astype(np.float64)
    red, green, blue = (unit * weights[channel] for channel in range(3))
    partial = (red.astype(np.float32).astype(np.float64).take(images[..., 0]) + green.take(images[..., 1]))
    luma = (partial.astype(np.float32).astype(np.float64) + blue.take(images[..., 2])).astype(np.float32)
    return np.rint(luma * np.float32(255)).astype(np.float64)


@pytest.fixture(autouse=True)
def pyiqa_in_plain_order(monkeypatch):
    """Every pyiqa module that holds ``rgb2yiq`` gets :func:`plain_order_rgb2yiq` (module docstring)."""
    import sys

    import pyiqa  # noqa: F401  (loads the architectures)
    from pyiqa.utils import color_util

    original = color_util.rgb2yiq
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("pyiqa") and getattr(module, "rgb2yiq", None) is original:
            monkeypatch.setattr(module, "rgb2yiq", plain_order_rgb2yiq)
    yield original


TOLERANCE = 1e-4  # the contract, for every value
# Each metric is held to about 100x the agreement it reaches here, so that a changed equation or constant
# fails even where it would move scores by less than 1e-4 (PSNR and PIQE: dB and 0..100 scales).
TIGHT_TOLERANCE = {"psnr": 1e-4, "ssim": 1e-5, "ms_ssim": 1e-5, "cw_ssim": 1e-9, "fsim": 1e-5, "gmsd": 1e-6,
                   "nlpd": 1e-5, "vsi": 1e-8, "entropy": 1e-5, "piqe": 1e-4}
VIF_TOLERANCE_VS_FLOAT32_PYIQA = 1e-3
PHOTOS = ("astronaut", "coffee", "chelsea", "camera")  # camera is greyscale, given as R = G = B
DISTORTIONS = ("noise", "blur", "jpeg", "colour_shift", "none")
# (width, height, photo): odd and even sizes; the default run has RGB and greyscale photos at small sizes,
# the slow run every photo at every size.
DEFAULT_CASES = ((97, 131, "astronaut"), (203, 171, "chelsea"), (256, 256, "camera"))
SIZES = ((97, 131), (203, 171), (256, 256), (383, 511))
ALL_CASES = tuple((w, h, photo) for w, h in SIZES for photo in PHOTOS)
MIN_SIDE = {"ssim": 11, "ms_ssim": 161, "cw_ssim": 64, "vif": 33, "piqe": 8}


def to_tensor(batch: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(255.0)


@cache
def pyiqa_metric(name: str):
    import pyiqa

    return pyiqa.create_metric(name, device="cpu")


def pyiqa_scores(name: str, images: np.ndarray, references: np.ndarray | None = None) -> np.ndarray:
    """pyiqa's scores, one image per call (pyiqa's CW-SSIM is many times slower on batches)."""
    metric = pyiqa_metric(name)
    values = []
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index in range(len(images)):
            image = to_tensor(images[index : index + 1])
            if name in FULL_REFERENCE:
                values.append(float(metric(image, to_tensor(references[index : index + 1])).reshape(-1)[0]))
            else:
                values.append(float(metric(image).reshape(-1)[0]))
    return np.array(values)


def photo(name: str, width: int, height: int) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = Image.fromarray(np.ascontiguousarray(image[:, :, :3])).resize((width, height), Image.BICUBIC)
    return np.asarray(image)


def distort(reference: np.ndarray, kind: str) -> np.ndarray:
    if kind == "noise":
        rng = np.random.default_rng(7)
        return np.clip(reference + rng.normal(0, 12, reference.shape), 0, 255).round().astype(np.uint8)
    if kind == "blur":
        return np.asarray(Image.fromarray(reference).filter(ImageFilter.GaussianBlur(2)))
    if kind == "jpeg":
        buffer = io.BytesIO()
        Image.fromarray(reference).save(buffer, "JPEG", quality=15)
        return np.asarray(Image.open(buffer).convert("RGB"))
    if kind == "colour_shift":
        return np.clip(reference.astype(int) + [18, -10, 6], 0, 255).astype(np.uint8)
    return reference.copy()


@cache
def case_batch(width: int, height: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Distorted images and their references, N x H x W x 3 uint8."""
    reference = photo(name, width, height)
    images = np.stack([distort(reference, kind) for kind in DISTORTIONS])
    return images, np.stack([reference] * len(DISTORTIONS))


def assert_equal_to_pyiqa(name: str, cases, tolerance: float | None = None) -> None:
    tolerance = min(TOLERANCE, TIGHT_TOLERANCE.get(name, TOLERANCE)) if tolerance is None else tolerance
    for width, height, photo_name in cases:
        if min(width, height) < MIN_SIDE.get(name, 0):
            continue
        images, references = case_batch(width, height, photo_name)
        refs = references if name in FULL_REFERENCE else None
        ours = fast_scores(name, list(images), None if refs is None else list(refs))
        theirs = pyiqa_scores(name, images, refs)
        assert ours.dtype == np.float64 and ours.shape == theirs.shape
        difference = np.abs(ours - theirs)
        assert difference.max() <= tolerance, (
            f"{name} on {photo_name} {width}x{height}: fast {ours} vs pyiqa {theirs} (max diff {difference.max():.2e})"
        )


def assert_luma_equals_pyiqa(codes: np.ndarray) -> None:
    from pyiqa.utils.color_util import to_y_channel

    triples = np.stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255], axis=-1).astype(np.uint8)
    triples = triples.reshape(1, 1, -1, 3)
    tensor = to_tensor(triples)
    with torch.no_grad():
        for dtype, numpy_dtype in ((torch.float32, np.float32), (torch.float64, np.float64)):
            expected = to_y_channel(tensor.to(dtype), 255).squeeze().numpy()
            np.testing.assert_array_equal(luma_255(triples, numpy_dtype).reshape(-1), expected.reshape(-1))


def test_luma_equals_pyiqa_on_rounding_ties():
    """The RGB triples whose weighted sum is exactly k + 1/2 in decimals (float32 decides), and a sample."""
    codes = np.arange(256**3, dtype=np.int64)
    decimal = 299 * (codes >> 16) + 587 * ((codes >> 8) & 255) + 114 * (codes & 255)
    ties = codes[decimal % 1000 == 500]
    sample = np.random.default_rng(0).choice(codes, 20_000, replace=False)
    assert_luma_equals_pyiqa(np.concatenate([ties, sample]).astype(np.uint32))


def test_plain_pyiqa_luma_differs_only_on_ties(pyiqa_in_plain_order):
    """Plain pyiqa (the machine's own matmul) against our luma: equal off the decimal ties, and on them equal to
    the plain order or to the fused order, at most one level from ours."""
    codes = np.arange(256**3, dtype=np.int64)
    decimal = 299 * (codes >> 16) + 587 * ((codes >> 8) & 255) + 114 * (codes & 255)
    is_tie = decimal % 1000 == 500
    chosen = np.concatenate([codes[is_tie], np.random.default_rng(1).choice(codes[~is_tie], 20_000, replace=False)])
    triples = np.stack([(chosen >> 16) & 255, (chosen >> 8) & 255, chosen & 255], axis=-1).astype(np.uint8)
    triples = triples.reshape(1, 1, -1, 3)
    with torch.no_grad():
        plain = (pyiqa_in_plain_order(to_tensor(triples))[:, :1] * 255).round().reshape(-1).numpy()
    ours, fused = luma_255(triples).reshape(-1), fused_order_luma(triples).reshape(-1)
    ties = is_tie[chosen]
    assert np.array_equal(plain[~ties], ours[~ties]) and np.array_equal(fused[~ties], ours[~ties])
    assert np.array_equal(plain, ours) or np.array_equal(plain, fused)
    assert np.abs(fused - ours).max() == 1.0


@pytest.mark.slow
def test_luma_equals_pyiqa_for_every_rgb_triple():
    assert_luma_equals_pyiqa(np.arange(256**3, dtype=np.uint32))


@pytest.mark.parametrize("name", sorted(set(FAST_METRICS) - {"vif"}))
def test_fast_metric_equals_pyiqa(name):
    assert_equal_to_pyiqa(name, DEFAULT_CASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(FAST_METRICS) - {"vif"}))
def test_fast_metric_equals_pyiqa_on_every_photo_and_size(name):
    assert_equal_to_pyiqa(name, ALL_CASES)


@pytest.fixture
def pyiqa_vif_with_float64_gsm(monkeypatch):
    """pyiqa's VIF with only the reference GSM parameters (covariance, pseudo-inverse, eigenvalues) in float64."""
    from pyiqa.archs.vif_arch import VIF

    float32_gsm = VIF.refparams_vecgsm

    def float64_gsm(self, bands):
        multipliers, eigenvalues, covariances = float32_gsm(self, [band.double() for band in bands])
        return [m.float() for m in multipliers], [e.float() for e in eigenvalues], covariances

    monkeypatch.setattr(VIF, "refparams_vecgsm", float64_gsm)
    return VIF()


def test_vif_equals_pyiqa_with_float64_gsm(pyiqa_vif_with_float64_gsm):
    for width, height, photo_name in DEFAULT_CASES:
        images, references = case_batch(width, height, photo_name)
        with torch.no_grad():
            theirs = pyiqa_vif_with_float64_gsm(to_tensor(images), to_tensor(references)).double().numpy()
        ours = fast_scores("vif", list(images), list(references))
        assert np.abs(ours - theirs).max() <= 1e-5, (photo_name, width, height, ours, theirs)


def test_vif_equals_plain_pyiqa_within_its_float32_error():
    assert_equal_to_pyiqa("vif", DEFAULT_CASES, tolerance=VIF_TOLERANCE_VS_FLOAT32_PYIQA)


@pytest.mark.slow
def test_vif_equals_plain_pyiqa_on_every_photo_and_size():
    assert_equal_to_pyiqa("vif", ALL_CASES, tolerance=VIF_TOLERANCE_VS_FLOAT32_PYIQA)


def test_batch_scores_equal_one_by_one_scores():
    images, references = case_batch(97, 131, "astronaut")
    for name in FAST_METRICS:
        if min(images.shape[1:3]) < MIN_SIDE.get(name, 0):
            images, references = case_batch(203, 171, "chelsea")
        refs = list(references) if name in FULL_REFERENCE else None
        batch = fast_scores(name, list(images), refs)
        one_by_one = [fast_scores(name, [image], None if refs is None else [refs[i]])[0] for i, image in enumerate(images)]
        np.testing.assert_allclose(batch, one_by_one, rtol=0, atol=1e-12, err_msg=name)


# (metric, a size pyiqa cannot score, the smallest size it scores); sizes are (height, width).
SMALLEST_SIZES = [
    ("ssim", (10, 40), (11, 40)),
    ("ms_ssim", (200, 160), (161, 161)),
    ("cw_ssim", (63, 100), (64, 64)),
    ("vif", (32, 80), (33, 33)),
    ("gmsd", (1, 30), (2, 4)),
    ("piqe", (7, 40), (8, 8)),
]


def random_pair(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(height * 1000 + width)
    return tuple(rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8) for _ in range(2))


@pytest.mark.parametrize(("name", "too_small", "smallest"), SMALLEST_SIZES)
def test_images_too_small_raise_input_error_where_pyiqa_fails(name, too_small, smallest):
    image, reference = random_pair(*too_small)
    refs = lambda batch: list(batch) if name in FULL_REFERENCE else None  # noqa: E731
    with pytest.raises(Exception):  # noqa: B017 (pyiqa raises RuntimeError or AssertionError)
        pyiqa_scores(name, image, reference)
    with pytest.raises(InputError, match="at least"):
        fast_scores(name, list(image), refs(reference))
    image, reference = random_pair(*smallest)
    assert np.abs(fast_scores(name, list(image), refs(reference)) - pyiqa_scores(name, image, reference)).max() <= TOLERANCE


@pytest.mark.parametrize(("name", "size"), [("fsim", (1, 40)), ("gmsd", (3, 3))])
def test_sizes_where_pyiqa_returns_nan_raise_input_error(name, size):
    image, reference = random_pair(*size)
    assert np.isnan(pyiqa_scores(name, image, reference)).all()
    with pytest.raises(InputError, match="at least"):
        fast_scores(name, list(image), list(reference))


def test_flat_images_score_like_pyiqa():
    """Constant images against each other and against a photo: same values as pyiqa, NaN included (PIQE of
    a black image). Two flat images make CW-SSIM a ratio of its 1e-12 terms (about 1e6), where both agree
    to 1e-7 relative; FSIM's phase congruency of a flat image is float32 noise in pyiqa, so it is refused."""
    flat = [np.full((171, 203, 3), value, dtype=np.uint8) for value in (0, 255, 128)]
    photo_image = case_batch(203, 171, "chelsea")[1][0]
    pairs = [(a, b) for a in flat for b in flat] + [(flat[0], photo_image), (photo_image, flat[0]), (flat[2], photo_image)]
    images, references = np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])
    for name in FAST_METRICS:
        refs = references if name in FULL_REFERENCE else None
        if name == "fsim":
            with pytest.raises(InputError, match="no contrast"):
                fast_scores(name, list(images), list(refs))
            continue
        ours = fast_scores(name, list(images), None if refs is None else list(refs))
        np.testing.assert_allclose(ours, pyiqa_scores(name, images, refs), rtol=1e-7, atol=TOLERANCE, equal_nan=True,
                                   err_msg=name)


def test_entropy_of_tiny_and_flat_images_equals_pyiqa():
    flat = np.full((1, 5, 7, 3), 90, dtype=np.uint8)
    single = np.zeros((1, 1, 1, 3), dtype=np.uint8)
    for batch in (flat, single):
        assert abs(fast_scores("entropy", list(batch))[0] - pyiqa_scores("entropy", batch)[0]) <= TOLERANCE


def test_bad_inputs_are_refused_with_a_sentence():
    image = np.zeros((20, 30, 3), dtype=np.uint8)
    with pytest.raises(InputError, match="one size"):
        fast_scores("psnr", [image, np.zeros((21, 30, 3), dtype=np.uint8)], [image, image])
    with pytest.raises(InputError, match="uint8"):
        fast_scores("psnr", [image.astype(np.float32)], [image])
    with pytest.raises(InputError, match="reference image for every image"):
        fast_scores("ssim", [image])
    with pytest.raises(InputError, match="same size"):
        fast_scores("psnr", [image], [np.zeros((30, 20, 3), dtype=np.uint8)])
    with pytest.raises(InputError, match="no-reference"):
        fast_scores("entropy", [image], [image])
    with pytest.raises(InputError, match="no fast implementation"):
        fast_scores("niqe", [image])
    with pytest.raises(InputError, match="no images"):
        fast_scores("entropy", [])
