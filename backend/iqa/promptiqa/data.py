"""Synthetic assessment requirements for PromptIQA's mixed training (paper 004 Sec. 4.1, 4.3).

The paper mixes 12 human-rated data sets, each with its own requirement (MOS or DMOS, its own range),
and tests generalisation on requirements made by full-reference metrics (SSIM, FSIM, LPIPS on TID2013 /
KADID-10k, Table 3). No such data set can be downloaded here, so the requirements are made the way
Table 3 makes its test requirements: real photos (``backend.data.photos``, with its hash split) are
distorted at graded levels (``backend.data.distortions``) and every image is labelled by

* the registry's pyiqa full-reference metrics against its pristine photo: ``psnr``, ``ssim``,
  ``ms_ssim``, ``fsim``, ``vsi``, ``vif``, ``cw_ssim`` (higher is better, MOS-like) and ``gmsd``, ``nlpd``
  (lower is better, DMOS-like);
* the distortion level 0..5 (``level``; higher is worse, DMOS-like).

Each column is one requirement. Labels keep their own direction and are min-max normalised to [0, 1]
per requirement over the training rows (paper Sec. 4.1 C; the public code divides by each data set's
range instead -- same effect). Which requirements are trained on and which are held out is the
trainer's choice (``train``), recorded in the card.

Geometry (a departure from the paper's 224x224 ViT input, for CPU speed): each photo is downscaled so
its shorter side is 176 px and centre-cropped to 176x176 -- the smallest size at which pyiqa's MS-SSIM
runs its five scales -- and the labels are measured at 176x176. The set stores these 176x176 images;
:func:`load_dataset` hands each visual encoder its own input size (the compact CNN sees them resized by
the area filter to 128 px, the feature encoder the 176 px crops), exactly as any image is prepared at
inference by :func:`network_input`.

Views (more training content from the same photos): view 0 is the whole photo (the centre crop above);
views 1, 2, ... are 176x176 crops at a deterministic position (from the photo key) of the photo
downscaled so that its shorter side is 176 x ``VIEW_SCALES[v]`` px -- closer looks at the same scene,
with finer texture. Every view of a photo is in the photo's split. The evaluation uses view 0 only
(``evaluate``), so its numbers stay comparable whatever the number of views; extra views are labelled
only with ``view_metrics`` (by default the training metrics, which keeps the held-out requirements
out of the training rows and saves labelling time).

To keep the pyiqa labelling affordable on a shared CPU, each view gets ``families_per_photo``
distortion families (chosen by the view's key, so the choice is deterministic and differs between views)
at all five levels, plus the pristine view. The set is written to ``data/promptiqa/`` (``images.npy``
uint8 N x 176 x 176 x 3 and ``labels.csv`` with the ``photo``, ``view``, ``split``, ``family``, ``level``,
metric and ``source`` columns -- the photo's package, for per-source and leave-one-source-out figures) and is
never committed. ``unseen=True`` adds the photos of the unseen evaluation source (split ``unseen``), which
training and checkpoint choice never read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from backend import registry
from backend.data.distortions import FAMILIES, LEVELS, distort, rng_for
from backend.data.photos import DEFAULT_SOURCES, list_photos, load_photo, source_of, unseen_photos
from backend.errors import InputError

CROP = 176
INPUT_SIZE = 128
METRICS = ("psnr", "ssim", "ms_ssim", "fsim", "vsi", "gmsd", "vif", "nlpd", "cw_ssim")
REQUIREMENTS = (*METRICS, "level", "mos")
LOWER_BETTER = {"gmsd": True, "nlpd": True, "level": True}
# ``mos``: a MOS-like mixture (issue #23) -- the mean of the distortion level's MOS proxy and SSIM's fidelity map
# (``backend.data.distortions``: level_mos, fidelity_mos; both on the KADID-like 1..5 scale): what a rater's
# mean opinion looks like when the level and the measured damage disagree; derived at load time.
VIEW_SCALES = (1.0, 1.7, 2.6, 3.6)
VIEW_METRICS = ("psnr", "ssim", "vsi", "gmsd")  # the default training metrics (``requirements.DEFAULT_TRAIN``)
DEFAULT_DIR = Path("data") / "promptiqa"
IMAGES_FILE, LABELS_FILE = "images.npy", "labels.csv"


def crop_photo(path: str | Path, crop: int = CROP, view: int = 0, key: str = "") -> np.ndarray:
    """The photo at ``path`` through :func:`crop_square` (view 0) or :func:`crop_view` (views 1, 2, ...)."""

    if view == 0:
        return crop_square(load_photo(path, max_side=4 * crop), crop, Path(path).name)
    return crop_view(load_photo(path, max_side=round(3 * VIEW_SCALES[view] * crop)), view, key or str(path), crop)


def crop_view(image: np.ndarray, view: int, key: str, crop: int = CROP) -> np.ndarray:
    """View ``view`` of a photo: downscaled to a shorter side of ``crop`` x ``VIEW_SCALES[view]`` px, then a
    ``crop`` x ``crop`` window at a position drawn from ``key`` and ``view``."""
    import cv2


    if not 0 <= view < len(VIEW_SCALES):
        raise InputError(f"View {view} is out of range; use 0 to {len(VIEW_SCALES) - 1}.")
    height, width = image.shape[:2]
    scale = crop * VIEW_SCALES[view] / min(height, width)
    if scale < 1:
        image = cv2.resize(image, (max(crop, round(width * scale)), max(crop, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    height, width = image.shape[:2]
    if min(height, width) < crop:
        raise InputError(f"The photo '{key}' is smaller than {crop} px; it cannot be cropped.")
    rng = rng_for(key, "promptiqa-view", view)
    top, left = int(rng.integers(0, height - crop + 1)), int(rng.integers(0, width - crop + 1))
    return np.ascontiguousarray(image[top:top + crop, left:left + crop])


def crop_square(image: np.ndarray, crop: int = CROP, name: str = "image") -> np.ndarray:
    """``image`` downscaled so its shorter side is ``crop`` px, centre-cropped to ``crop`` x ``crop``."""
    import cv2

    height, width = image.shape[:2]
    scale = crop / min(height, width)
    if scale < 1:
        image = cv2.resize(image, (max(crop, round(width * scale)), max(crop, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    height, width = image.shape[:2]
    if min(height, width) < crop:
        raise InputError(f"The photo '{name}' is smaller than {crop} px; it cannot be cropped.")
    top, left = (height - crop) // 2, (width - crop) // 2
    return np.ascontiguousarray(image[top:top + crop, left:left + crop])


def network_input(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """An RGB uint8 image resized to ``size`` x ``size`` (area filter down, cubic up): what the network sees."""
    import cv2

    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return np.ascontiguousarray(image)
    shrink = size < min(height, width)
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def families_for(key: str, count: int) -> list[str]:
    """``count`` distortion families for a photo, chosen deterministically from its key."""

    names = sorted(FAMILIES)
    if count >= len(names):
        return names
    return sorted(rng_for(key, "promptiqa-families").choice(names, size=count, replace=False).tolist())


def distorted_versions(pristine: np.ndarray, key: str, families) -> list[tuple[str, int, np.ndarray]]:
    """(family, level, image): the pristine image, then every family at levels 1..5 (seeded by ``key``)."""

    versions = [("pristine", 0, pristine)]
    for family in families:
        for level in LEVELS:
            versions.append((family, level, distort(pristine, family, level, rng_for(key, family, level))))
    return versions


def label_versions(versions, metrics=METRICS) -> list[dict]:
    """Label rows (family, level and each metric against the pristine image) of ``distorted_versions``."""

    images = [v[2] for v in versions]
    references = [versions[0][2]] * len(images)
    rows = [{"family": f, "level": lv} for f, lv, _ in versions]
    for metric in metrics:
        results = registry.create(metric, device="cpu").score_batch(images, references)
        for row, result in zip(rows, results, strict=False):
            row[metric] = result.score
    return rows


def view_key(key: str, view: int) -> str:
    """The key that seeds a view's families and distortions (view 0 keeps the photo key)."""
    return key if view == 0 else f"{key}#view{view}"


def label_photo(key: str, path: str, split: str, families_per_photo: int, view: int = 0,
                metrics=METRICS) -> tuple[np.ndarray, list[dict]]:
    """All versions of one view of a photo (pristine + families x levels): 176 px images and label rows."""
    seed_key = view_key(key, view)
    versions = distorted_versions(crop_photo(path, view=view, key=key), seed_key, families_for(seed_key, families_per_photo))
    rows = [{"photo": key, "view": view, "split": split, **row} for row in label_versions(versions, metrics)]
    return np.stack([image for _, _, image in versions]), rows


def _label_worker(job):
    import torch

    torch.set_num_threads(1)
    return label_photo(*job)


def build_dataset(out_dir: str | Path = DEFAULT_DIR, families_per_photo: int = 6, workers: int = 2,
                  limit: int | None = None, views: int = 1, view_metrics=VIEW_METRICS,
                  sources=None, unseen: bool = False) -> pd.DataFrame:
    """Build (or rebuild) the labelled set under ``out_dir``; returns the label table.

    ``views`` views per photo (module docstring): view 0 is labelled with every metric of :data:`METRICS`,
    views 1.. with ``view_metrics`` only (the other metric columns are empty for them). ``sources``: the photo
    sources of ``backend.data.photos.list_photos`` (default: its ``DEFAULT_SOURCES``).
    """
    from multiprocessing import get_context

    from tqdm import tqdm


    if not 1 <= views <= len(VIEW_SCALES):
        raise InputError(f"Views per photo must be 1 to {len(VIEW_SCALES)}, got {views}.")
    unknown = sorted(set(view_metrics) - set(METRICS))
    if unknown:
        raise InputError(f"Unknown view metric(s) {', '.join(unknown)}; use some of {', '.join(METRICS)}.")
    sources = tuple(sources or DEFAULT_SOURCES)
    photos = list_photos(sources=sources)
    if limit:
        photos = photos[:limit]
    if unseen:
        photos += unseen_photos()[: limit or None]
    jobs = [(p.key, str(p.path), p.split, families_per_photo, view, METRICS if view == 0 else tuple(view_metrics))
            for view in range(views) for p in photos]
    images, rows = [], []
    with get_context("spawn").Pool(max(1, workers)) as pool:
        for batch, batch_rows in tqdm(pool.imap(_label_worker, jobs), total=len(jobs), desc="labelling photo views",
                                      unit="view", file=sys.stderr):
            images.append(batch)
            rows.extend(batch_rows)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows, columns=["photo", "view", "split", "family", "level", *METRICS])
    table["source"] = [source_of(k) for k in table["photo"]]
    np.save(out / IMAGES_FILE, np.concatenate(images))
    table.to_csv(out / LABELS_FILE, index=False)
    pristine = table[(table.level == 0) & (table.view == 0)]
    (out / "build.json").write_text(json.dumps({
        "crop": CROP, "stored_size": CROP, "families_per_photo": families_per_photo, "views": views,
        "view_scales": list(VIEW_SCALES[:views]), "view_metrics": list(view_metrics), "sources": list(sources),
        "unseen": unseen, "photos": {s: int(pristine["split"].eq(s).sum()) for s in ("train", "validation", "test", "unseen")},
        "photos_per_source": {k: int(v) for k, v in pristine.groupby("source").size().items()},
        "images": len(table)}, indent=1))
    return table


def mos_labels(table: pd.DataFrame) -> np.ndarray:
    """The ``mos`` requirement: (level_mos(level) + fidelity_mos(ssim)) / 2 (NaN where SSIM is missing)."""
    from backend.data.distortions import fidelity_mos, level_mos

    ssim = table["ssim"].to_numpy(np.float64) if "ssim" in table else np.full(len(table), np.nan)
    return (level_mos(table["level"].to_numpy(np.float64)) + np.where(np.isfinite(ssim), fidelity_mos(ssim), np.nan)) / 2


def load_dataset(data_dir: str | Path = DEFAULT_DIR, size: int | None = INPUT_SIZE) -> tuple[np.ndarray, pd.DataFrame]:
    """The built set: images (N, size, size, 3) uint8 as the encoder sees them and the label table.

    The set stores 176 px crops; ``size`` resizes them by :func:`network_input` (``None`` keeps the stored
    size). Sets built before views existed (128 px, no ``view`` column) load as view 0.
    """
    folder = Path(data_dir)
    if not (folder / IMAGES_FILE).is_file() or not (folder / LABELS_FILE).is_file():
        raise InputError(f"No PromptIQA training set in '{folder}'; build it with "
                         "`python -m backend promptiqa build-data`.")
    images, table = np.load(folder / IMAGES_FILE), pd.read_csv(folder / LABELS_FILE)
    if "view" not in table:
        table["view"] = 0
    if "source" not in table:  # sets built before sources were recorded
        table["source"] = [source_of(k) for k in table["photo"].astype(str)]
    table["mos"] = mos_labels(table)
    if size is not None and images.shape[1] != size:
        if images.shape[1] < size:
            raise InputError(f"The set in '{folder}' stores {images.shape[1]} px images, smaller than the "
                             f"{size} px this encoder needs; rebuild it with `python -m backend promptiqa build-data`.")
        images = np.stack([network_input(image, size) for image in images])
    return images, table
