"""Training data of HarmonyIQA-lite (paper 000 issue item 3): harmonized images scored by their true error.

Paper 000 (Sec. III) learns harmonization quality from human MOS; no ratings exist offline, so the lite
model learns from synthetic composites whose quality is known exactly. For each (photo, region):

* a random crop of a Debian photo (``backend.data.photos``) and one offline-segmenter region covering
  1-50 % of it give the ground truth; ``backend.harmonization.synth.region_sample`` changes the region's
  colours by the iHarmony4 recipe and gives the composite;
* the versions scored are: the ground truth itself, the composite, ``len(STRENGTHS)`` "partly harmonized"
  interpolations ``real + (1 - t) (composite - real)`` inside the mask with t drawn uniformly from each
  of the intervals in :data:`STRENGTHS` (so quality varies continuously), and the outputs of the registered
  harmonizers :data:`HARMONIZERS` (reinhard, histogram, semantic-routing, the shipped srh-tiny network),
  which add realistic artefacts (over-corrected lightness, histogram banding, partial corrections);
* the true error of a version is its iHarmony4 **fMSE** against the ground truth
  (``backend.harmonization.metrics.harmonization_errors``, 256x256 protocol). fMSE is used rather than MSE
  because harmonization changes only the foreground: MSE mostly measures the foreground's size, fMSE
  measures how wrong its colours are (the quantity a viewer judges); it is also paper 002's main metric;
* the MOS-like score is the monotone map :func:`mos_from_fmse`:
  ``100 / (1 + exp((ln(1 + fMSE) - ln(1 + FMSE_MID)) / LOG_SCALE))`` -- 100 = perfect, 50 at fMSE 300
  (a visible but moderate mismatch), about 12 at fMSE 2500 (the largest synthetic change).

Splits follow the photo hash split (``list_photos(split)``): ``train`` composites come from train photos,
``validation`` and ``test`` from theirs, so test photos are never seen in training or model selection; the
optional ``unseen`` split holds composites of the unseen evaluation source (``gcompris-unseen``), which
nothing trains on or chooses by. ``sources`` picks the photo packages (default: ``photos.DEFAULT_SOURCES``,
the shipped models' data); with ``balance_sources`` each composite first draws a source uniformly, then a
photo of it, so that a source with many photos does not dominate. Every row records its photo's ``source``
(``backend.data.by_source`` reads it for per-source and leave-one-source-out figures).
Everything is deterministic given the seed. Written layout (``OUT``)::

    OUT/<split>/<id>_<version>.png      harmonized versions (the real image is the reference)
    OUT/<split>/<id>_real.png, <id>_mask.png
    OUT/index.csv   image, reference, mask, mos, fmse, mse, foreground_ratio, kind, strength, subset, split, photo,
                    source
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from backend import registry
from backend.data.photos import (
    DEFAULT_SOURCES,
    UNSEEN_SPLIT,
    draw_photo,
    list_photos,
    load_photo,
    source_of,
    unseen_photos,
)
from backend.data.scored_set import read_csv_file
from backend.errors import InputError
from backend.harmonization import synth
from backend.harmonization.metrics import harmonization_errors
from backend.images import save_png
from backend.segmentation.regions import RegionSegmenter

FMSE_MID = 300.0
LOG_SCALE = 1.0
STRENGTHS = ((0.1, 0.4), (0.4, 0.7), (0.7, 0.95))
HARMONIZERS = ("reinhard", "histogram", "semantic-routing", "srh-tiny")
SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2, UNSEEN_SPLIT: 3}
DEFAULT_COUNTS = {"train": 700, "validation": 80, "test": 100}
COLUMNS = ("image", "reference", "mask", "mos", "fmse", "mse", "foreground_ratio", "kind", "strength", "subset",
           "split", "photo", "source")


def mos_from_fmse(fmse: np.ndarray | float) -> np.ndarray | float:
    """The documented monotone map from fMSE (0..65025) to a MOS-like 0..100 score (higher is better)."""
    value = (np.log1p(np.asarray(fmse, dtype=np.float64)) - np.log1p(FMSE_MID)) / LOG_SCALE
    result = 100.0 / (1.0 + np.exp(value))
    return float(result) if np.ndim(result) == 0 else result


def random_crop(photo: np.ndarray, rng: np.random.Generator, low: float = 0.5) -> np.ndarray:
    """A random crop covering ``low``..1 of each side (at least 64 pixels)."""
    height, width = photo.shape[:2]
    scale = rng.uniform(low, 1.0)
    h, w = max(64, int(height * scale)), max(64, int(width * scale))
    top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
    return np.ascontiguousarray(photo[top:top + h, left:left + w])


def interpolate(composite: np.ndarray, real: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """A partly harmonized image: the foreground moved ``strength`` (0..1) of the way from composite to real."""
    out = real.astype(np.float64).copy()
    out[mask] = real[mask] + (1.0 - strength) * (composite[mask].astype(np.float64) - real[mask])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def versions_of(composite: np.ndarray, real: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                harmonizers: tuple[str, ...] = HARMONIZERS) -> list[tuple[str, float, np.ndarray]]:
    """(kind, strength, image) of every scored version of one composite (module docstring)."""

    versions: list[tuple[str, float, np.ndarray]] = [("real", 1.0, real.copy()), ("composite", 0.0, composite.copy())]
    for index, (low, high) in enumerate(STRENGTHS):
        strength = float(rng.uniform(low, high))
        versions.append((f"partial{index}", strength, interpolate(composite, real, mask, strength)))
    for name in harmonizers:
        versions.append((name, float("nan"), registry.create(name).harmonize(composite, mask).image))
    return versions


def subset_of(kind: str) -> str:
    """Coarse family of a version (the ``subset`` column): reference, composite, partial or harmonizer."""
    if kind in ("real", "composite"):
        return "reference" if kind == "real" else "composite"
    return "partial" if kind.startswith("partial") else "harmonizer"


def build_split(photos, count: int, out: Path, seed: int, side: int = 256,
                harmonizers: tuple[str, ...] = HARMONIZERS, progress: Callable[[int, int], None] | None = None,
                balance_sources: bool = False) -> list[dict]:
    """Write ``count`` composites of ``photos`` with all their versions into ``out``; return the index rows."""

    if not photos:
        raise InputError(f"No photos in the split for '{out.name}'; install the photo packages (backend.data.photos).")
    segmenter = RegionSegmenter()
    pixels = {p.key: load_photo(p.path, max_side=side) for p in photos}
    keys = sorted(pixels)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    done = 0
    while done < count:
        sample_seed = int(rng.integers(2**31))
        local = np.random.default_rng(sample_seed)
        key = draw_photo(keys, local, balance_sources)
        photo = random_crop(pixels[key], local)
        others = [pixels[k][::4, ::4] for k in keys if k != key] or [pixels[key][::4, ::4]]
        others = [others[i] for i in local.choice(len(others), size=min(3, len(others)), replace=False)]
        sample = synth.region_sample(photo, list(segmenter.segment(photo).masks), others, sample_seed)
        if sample is None:
            continue
        stem = f"{done:05d}"
        save_png(sample.real, out / f"{stem}_real.png")
        save_png(sample.mask, out / f"{stem}_mask.png")
        for kind, strength, image in versions_of(sample.composite, sample.real, sample.mask, local, harmonizers):
            errors = harmonization_errors(image, sample.real, sample.mask)
            name = f"{stem}_{kind}.png" if kind != "real" else f"{stem}_real.png"
            if kind != "real":
                save_png(image, out / name)
            rows.append({
                "image": f"{out.name}/{name}", "reference": f"{out.name}/{stem}_real.png",
                "mask": f"{out.name}/{stem}_mask.png", "mos": mos_from_fmse(errors.fmse), "fmse": errors.fmse,
                "mse": errors.mse, "foreground_ratio": errors.foreground_ratio, "kind": kind, "strength": strength,
                "subset": subset_of(kind), "split": out.name, "photo": key, "source": source_of(key),
            })
        done += 1
        if progress:
            progress(done, count)
    return rows


def build_dataset(out: str | Path, counts: dict[str, int] | None = None, seed: int = 2026, side: int = 256,
                  harmonizers: tuple[str, ...] = HARMONIZERS, show_progress: bool = True,
                  sources=DEFAULT_SOURCES, balance_sources: bool = False) -> Path:
    """Build every split into ``out`` and write ``out/index.csv`` (+ ``build.json``); returns the index path.

    ``counts`` may include ``unseen``: composites of the unseen evaluation source (whatever ``sources`` says).
    """
    from tqdm import tqdm


    out = Path(out)
    counts = dict(DEFAULT_COUNTS if counts is None else counts)
    sources = tuple(sources)
    rows: list[dict] = []
    for split, count in counts.items():
        if split not in SPLIT_SEEDS:
            raise InputError(f"Unknown split '{split}'; use train, validation, test or {UNSEEN_SPLIT}.")
        if count <= 0:
            continue
        photos = unseen_photos() if split == UNSEEN_SPLIT else list_photos(split, sources=sources)
        with tqdm(total=count, desc=f"lite-data {split}", unit="composite", disable=not show_progress) as bar:
            rows += build_split(photos, count, out / split, seed * 10 + SPLIT_SEEDS[split], side,
                                harmonizers, progress=lambda done, total: bar.update(done - bar.n),
                                balance_sources=balance_sources)
    index = out / "index.csv"
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table.to_csv(index, index=False)
    composites = table.drop_duplicates("reference")
    (out / "build.json").write_text(json.dumps({
        "counts": counts, "seed": seed, "side": side, "harmonizers": list(harmonizers), "strengths": STRENGTHS,
        "sources": list(sources), "balance_sources": balance_sources,
        "photos_per_source": {s: int(g["photo"].nunique()) for s, g in composites.groupby("source")},
        "composites_per_source": {s: int(len(g)) for s, g in composites.groupby("source")},
        "true_error": "iHarmony4 fMSE at 256x256 (backend.harmonization.metrics)",
        "mos_map": f"100 / (1 + exp((ln(1 + fMSE) - ln(1 + {FMSE_MID})) / {LOG_SCALE}))",
    }, indent=1))
    return index


def read_index(path: str | Path) -> pd.DataFrame:
    """Read an ``index.csv`` written by :func:`build_dataset`; paths become absolute."""

    path = Path(path)
    if path.is_dir():
        path = path / "index.csv"
    table = read_csv_file(path, ", ".join(COLUMNS))
    missing = [c for c in ("image", "reference", "mask", "mos", "fmse", "split") if c not in table.columns]
    if missing:
        raise InputError(f"'{path.name}' lacks the column(s) {', '.join(missing)}; build it with "
                         "`python -m backend harmonyiqa lite-data`.")
    for column in ("image", "reference", "mask"):
        table[column] = [str(p if Path(p).is_absolute() else path.parent / p) for p in table[column].astype(str)]
    if "source" not in table.columns and "photo" in table.columns:  # indexes built before sources were recorded
        table["source"] = [source_of(k) for k in table["photo"].astype(str)]
    return table
