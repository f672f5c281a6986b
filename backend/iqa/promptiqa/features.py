"""Fixed no-reference quality statistics: the input of PromptIQA's ``features`` visual encoder (paper 004 Sec. 3.2 B).

The paper's visual encoder V is MoNet on a ViT-B/8 pre-trained on ImageNet and fine-tuned on 12 IQA data
sets; no pre-trained backbone can be downloaded here, and a CNN learned from scratch on a few dozen
photos does not learn features that say *which* distortion an unseen photo has and *how strong* it is
(the compact encoder's held-out SRCC stayed at 0.23). This encoder instead starts from classical,
training-free NR-IQA statistics that express distortion type and strength on any content, and learns
only a small projection to the 128-d token (``model.FeatureEncoder``):

* the 26 statistics of ``backend.iqa.compare2score.features.image_features`` (brightness and clipping,
  contrast, colourfulness, chroma and colour cast, Laplacian sharpness at two scales, gradient energy,
  Immerkaer noise level, 8x8 JPEG blockiness, pixel repetition, BRISQUE-style MSCN statistics at two
  scales), reused as they are;
* :data:`EXTRA_NAMES`, added here: MSCN statistics and Laplacian energy at a third (quarter) scale, the
  noise level at half scale (noise falls by about half per octave, texture does not), vertical JPEG
  blockiness, HSV saturation mean and spread, luminance percentiles (1, 50, 99), and the share of
  spectral energy above half the Nyquist frequency (blur, rescaling and noise move it in opposite ways).

All are computed on the RGB uint8 image as the encoder receives it (``data.network_input``: 176 x 176 px
for this encoder, the size at which the labels were measured, so JPEG's 8x8 grid is kept).

Registry NR scores (issue #23, ``FeaturesConfig.nr_metrics``): the encoder can also take the scores of ready
no-reference registry metrics (default choice ``NR_METRICS``: piqe and entropy, the fast classical ones) as
extra inputs, so that a quality prompt can weight what the registry already knows; a model trained with
them names them in its config, and :func:`encoder_inputs` computes them the same way at training and at
scoring time (raw scores; the encoder standardises every input by the training set's mean and spread).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from backend.iqa.compare2score.features import FEATURE_NAMES as BASE_NAMES
from backend.iqa.compare2score.features import _blockiness, _mscn_stats, _noise_sigma
from backend.iqa.compare2score.features import image_features as base_features

EXTRA_NAMES = (
    "mscn_var_quarter", "mscn_kurtosis_quarter", "mscn_pair_h_quarter", "mscn_pair_v_quarter",
    "laplacian_log_energy_quarter", "noise_sigma_half", "blockiness_v", "saturation_mean", "saturation_std",
    "luma_p1", "luma_p50", "luma_p99", "spectral_high_share",
)
FEATURE_NAMES = (*BASE_NAMES, *EXTRA_NAMES)
COUNT = len(FEATURE_NAMES)


def _shrink(gray: np.ndarray, factor: int) -> np.ndarray:
    import cv2

    size = (max(8, gray.shape[1] // factor), max(8, gray.shape[0] // factor))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _high_share(gray: np.ndarray) -> float:
    """Share of spectral energy (mean removed, Hann window) above half the Nyquist frequency, as a logit."""
    height, width = gray.shape
    window = np.outer(np.hanning(height), np.hanning(width))
    power = np.abs(np.fft.fft2((gray - gray.mean()) * window)) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width), indexing="ij")
    high = np.hypot(fy, fx) > 0.25
    share = (power[high].sum() + 1e-12) / (power.sum() + 2e-12)
    return float(np.log(share / (1 - share + 1e-12)))


def quality_statistics(image: np.ndarray) -> np.ndarray:
    """The :data:`FEATURE_NAMES` statistics of one RGB uint8 image (float32 vector of length :data:`COUNT`)."""
    import cv2

    rgb = image.astype(np.float32) / 255.0
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    half, quarter = _shrink(gray, 2), _shrink(gray, 4)
    saturation = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1]
    extras = [
        *_mscn_stats(quarter),
        float(np.log(np.mean(cv2.Laplacian(quarter, cv2.CV_32F) ** 2) + 1e-8)),
        float(np.log(_noise_sigma(half) + 1e-4)),
        _blockiness(np.ascontiguousarray(gray.T) * 255.0),
        float(saturation.mean()), float(saturation.std()),
        *(float(v) for v in np.percentile(gray, (1, 50, 99))),
        _high_share(gray),
    ]
    return np.concatenate([base_features(image), np.asarray(extras)]).astype(np.float32)


def statistics_of(images) -> np.ndarray:
    """(N, :data:`COUNT`) statistics of a sequence of RGB uint8 images."""
    return np.stack([quality_statistics(image) for image in images]) if len(images) else np.zeros((0, COUNT), np.float32)


NR_METRICS = ("piqe", "entropy")


def nr_values(images, names) -> np.ndarray:
    """(N, len(names)) raw scores of the registry NR metrics ``names`` for RGB uint8 images (float32)."""
    from backend import registry

    if not names:
        return np.zeros((len(images), 0), np.float32)
    columns = []
    for name in names:
        model = registry.create(name)
        columns.append([float(result.score) for result in model.score_batch(list(images))] if len(images) else [])
    return np.asarray(columns, dtype=np.float32).T.reshape(len(images), len(names))


def encoder_inputs(images, nr_metrics=()) -> np.ndarray:
    """What the statistics encoder reads: the statistics, then the scores of ``nr_metrics`` (N, COUNT + k)."""
    return np.concatenate([statistics_of(images), nr_values(images, tuple(nr_metrics))], axis=1)


def cached_image_values(data_dir: str | Path, images: np.ndarray, name: str, compute, names) -> np.ndarray:
    """``compute(list(images))`` for the images of a built set, cached beside it in ``NAME.npy``.

    The cache is used only when it was made from the same ``images.npy`` (size and modification time) with
    the same ``names`` (what the values are); otherwise it is recomputed (``NAME.json`` holds the stamp).
    """
    folder = Path(data_dir)
    source = folder / "images.npy"
    stamp = {"names": list(names), "images": int(len(images)),
             "source_bytes": source.stat().st_size if source.is_file() else None,
             "source_mtime": source.stat().st_mtime if source.is_file() else None}
    cache, meta = folder / f"{name}.npy", folder / f"{name}.json"
    if cache.is_file() and meta.is_file() and json.loads(meta.read_text()) == stamp:
        return np.load(cache)
    values = compute(list(images))
    np.save(cache, values)
    meta.write_text(json.dumps(stamp))
    return values


def dataset_statistics(data_dir: str | Path, images: np.ndarray, nr_metrics=()) -> np.ndarray:
    """Statistics of every image of a built set (stored size), cached beside it in ``statistics.npy``
    (:func:`cached_image_values`, keyed by :data:`FEATURE_NAMES`), then the NR metrics' scores (cached in
    ``nr-NAME.npy``) when ``nr_metrics`` names some: :func:`encoder_inputs` of the set."""
    parts = [cached_image_values(data_dir, images, "statistics", statistics_of, FEATURE_NAMES)]
    for name in nr_metrics:
        parts.append(cached_image_values(data_dir, images, f"nr-{name}", lambda items, n=name: nr_values(items, (n,)),
                                         (name,)))
    return np.concatenate(parts, axis=1)
