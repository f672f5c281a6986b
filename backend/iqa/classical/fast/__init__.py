"""Fast CPU implementations of pyiqa's classical metrics, with the same values (issue #25).

``fast_scores(name, images, references)`` scores a batch of uint8 RGB images of one size in one call and
returns float64 scores equal to ``pyiqa.create_metric(name)`` (pyiqa 0.1.16, default options) called on
``uint8 / 255`` float32 tensors, within 1e-4 (typically 1e-7). Exceptions, forced by pyiqa: VIF, where
pyiqa's float32 covariance step drifts from its own formula (up to 2e-4 at 383x511, 1e-2 at 1024x768; see
``vif``), and FSIM of a flat image, which pyiqa scores by rounding noise and we refuse (see ``fsim``).

Each module names its paper and equations, what pyiqa does that the paper does not, what we do differently
for speed, and which image sizes it refuses (InputError, where pyiqa raises or returns NaN for the size):

- ``ssim``: SSIM and MS-SSIM with OpenCV's separable Gaussian filter (at least 11 and 161 px)
- ``cw_ssim``: CW-SSIM from the coarsest level of the complex steerable pyramid only (at least 64 px)
- ``vif``: VIF (vector GSM), only the 8 subbands pyiqa uses (at least 33 px)
- ``fsim``: FSIMc with log-Gabor filters and noise constants cached per size (at least 2 px, not flat)
- ``vsi``: VSI with SDSP saliency; constants cached, real FFT
- ``nlpd``: NLPD with OpenCV float32 filters
- ``piqe``: PIQE with pyiqa's own float32 Gaussian filtering and vectorised block statistics (at least 8 px)
- ``gmsd`` (at least two 2x2 blocks), ``psnr``, ``entropy``: direct NumPy/OpenCV versions
- ``colour``: pyiqa's luma, bit for bit

Every classical pyiqa metric of ``backend.iqa.classical`` has a fast version except NIQE and BRISQUE
(``NOT_ACCELERATED``). ``benchmarks/score_speed.py`` measures speed-ups and differences. Threads:
OpenCV uses its own pool (``cv2.setNumThreads``); scipy's FFTs use one thread unless the caller wraps the
call in ``scipy.fft.set_workers(n)``; PIQE's filtering and VSI's resizing run in torch (its thread setting).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

import numpy as np

from backend.errors import InputError

# name -> (module of this package, function). Full-reference functions take (images, references), no-reference
# ones (images); both N x H x W x 3 uint8 -> N float64 scores. The modules (OpenCV, SciPy) load on first use,
# so the registry can read the names cheaply.
FAST_METRICS: dict[str, tuple[str, str]] = {
    "psnr": ("psnr", "psnr"),
    "ssim": ("ssim", "ssim"),
    "ms_ssim": ("ssim", "ms_ssim"),
    "cw_ssim": ("cw_ssim", "cw_ssim"),
    "fsim": ("fsim", "fsim"),
    "gmsd": ("gmsd", "gmsd"),
    "vif": ("vif", "vif"),
    "nlpd": ("nlpd", "nlpd"),
    "vsi": ("vsi", "vsi"),
    "entropy": ("entropy", "entropy"),
    "piqe": ("piqe", "piqe"),
}
CHUNK_PIXELS = 4_000_000  # images per internal call: about 4 megapixels (e.g. 5 images of 1024x768)
FULL_REFERENCE = frozenset({"psnr", "ssim", "ms_ssim", "cw_ssim", "fsim", "gmsd", "vif", "nlpd", "vsi"})


def check_min_side(name: str, images: np.ndarray, minimum: int, why: str = "") -> None:
    """InputError when the batch's images (N x H x W x 3) have a side below ``minimum`` pixels; ``why`` (e.g.
    "for its 4 pyramid levels") is said after the size."""
    height, width = images.shape[1:3]
    if min(height, width) < minimum:
        raise InputError(
            f"'{name}' needs images of at least {minimum}x{minimum} pixels{' ' + why if why else ''}, but this one "
            f"is {width}x{height}; use a larger image or another metric."
        )


def metric_function(name: str) -> Callable[..., np.ndarray]:
    """The function computing ``name`` (module imported on first use)."""
    module, function = FAST_METRICS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)

# Classical pyiqa metrics of backend.iqa.classical with no fast version, and why.
NOT_ACCELERATED = {
    "niqe": "not part of issue #25: its score depends on a fitted parameter file from pyiqa's hub repository",
    "brisque": "not part of issue #25: its score depends on a fitted SVM parameter file from pyiqa's hub repository",
}


def clear_caches() -> None:
    """Forget the per-image-size filters (FSIM, CW-SSIM), e.g. to time a first call at a new size."""
    importlib.import_module(f"{__name__}.fsim")._filters.cache_clear()
    importlib.import_module(f"{__name__}.cw_ssim")._level_filters.cache_clear()


def _as_batch(name: str, images: Sequence[np.ndarray], role: str) -> np.ndarray:
    """N x H x W x 3 uint8 from a sequence of images of one size; InputError otherwise."""
    if len(images) == 0:
        raise InputError(f"'{name}' was given no {role}s to score; give at least one image.")
    for image in images:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InputError(
                f"'{name}' needs RGB uint8 arrays of shape HxWx3 (see backend.images), but a {role} is "
                f"{getattr(image, 'dtype', type(image).__name__)} of shape {np.shape(image)}."
            )
    sizes = sorted({image.shape[:2] for image in images})
    if len(sizes) != 1:
        raise InputError(
            f"'{name}' scores a batch of images of one size, but the {role}s have sizes "
            f"{', '.join(f'{width}x{height}' for height, width in sizes)}; score each size separately."
        )
    return np.ascontiguousarray(np.stack(images))


def fast_scores(
    name: str, images: Sequence[np.ndarray], references: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """Scores of ``images`` (RGB uint8 HxWx3, all of one size) by metric ``name``, as pyiqa computes them.

    Full-reference metrics need one reference per image, of the same size; no-reference metrics take
    ``references=None``. Returns a float64 array with one score per image. Images too small for a metric
    raise InputError with the smallest size it accepts.
    """
    if name not in FAST_METRICS:
        raise InputError(f"'{name}' has no fast implementation; fast metrics: {', '.join(sorted(FAST_METRICS))}.")
    batch = _as_batch(name, images, "image")
    if name in FULL_REFERENCE:
        if references is None or len(references) != len(images):
            raise InputError(f"'{name}' is a full-reference metric: give a reference image for every image.")
        reference_batch = _as_batch(name, references, "reference")
        if reference_batch.shape != batch.shape:
            height, width = batch.shape[1:3]
            ref_height, ref_width = reference_batch.shape[1:3]
            raise InputError(
                f"'{name}' compares pixels, but the images are {width}x{height} and the references "
                f"{ref_width}x{ref_height}; give references of the same size."
            )
    elif references is not None:
        raise InputError(f"'{name}' is a no-reference metric: give no references.")
    else:
        reference_batch = None
    # Scores are per image, so chunks bound the memory of float64 intermediates without changing them.
    chunk = max(1, CHUNK_PIXELS // (batch.shape[1] * batch.shape[2]))
    function = metric_function(name)
    scores = [
        function(batch[start : start + chunk]) if reference_batch is None else
        function(batch[start : start + chunk], reference_batch[start : start + chunk])
        for start in range(0, len(batch), chunk)
    ]
    return np.concatenate(scores).astype(np.float64)
