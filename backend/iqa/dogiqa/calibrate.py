"""Reference quantiles for the offline scorer and the c_max default (paper 003 Sec. 3.1-3.2, offline route).

``python -m backend dogiqa-calibrate [--scorer NAME ...]`` builds a reference set from the Debian photos
(``backend.data.photos``, train split only, so the held-out benchmark photos are never used): every photo
at most ``max_side`` px long, pristine and at levels 1..5 of a distortion family picked per (photo, level)
from ``backend.data.distortions`` (seeded by the photo key, so the set is reproducible). On each image it
runs Algorithm 1 with the segmenter and scores the whole image and every crop with each scorer, exactly as
Dog-IQA does; it stores

* per scorer: 101 quantiles (0 %, 1 %, ..., 100 %) of the oriented scores (higher = better) pooled over
  whole images and crops -- the quantile mapping of ``offline``;
* per segmenter: c_max = the most masks (Algorithm 1 regions) on one reference image (the paper's
  definition: "the maximum number of masks observed across the entire dataset"), with their mean;

and merges them into ``assets/dogiqa/calibration.json`` with the data description and the command.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from backend import registry
from backend.data.distortions import FAMILIES, distort, rng_for
from backend.data.photos import list_photos, load_photo
from backend.iqa.dogiqa.algorithm import DEFAULT_AREA_THRESHOLD, DEFAULT_MIN_SIDE, segment_regions
from backend.iqa.dogiqa.offline import CALIBRATION_FILE, check_scorer
from backend.segmentation.models import get_segmenter

FORMAT = "dogiqa-calibration/1"
PROBABILITIES = np.linspace(0.0, 1.0, 101)


def reference_images(split: str = "train", max_side: int = 1024, limit: int | None = None):
    """(photo key, family, level, image) for every photo of ``split``: pristine and levels 1..5."""

    photos = list_photos(split)[: limit or None]
    families = sorted(FAMILIES)
    for photo in photos:
        image = load_photo(photo.path, max_side=max_side)
        yield photo.key, "pristine", 0, image
        for level in range(1, 6):
            family = families[int(rng_for(photo.key, "dogiqa-family", level).integers(len(families)))]
            yield photo.key, family, level, distort(image, family, level, rng_for(photo.key, family, level))


def measure(images, scorers: Sequence[str], segmenter, area_threshold: float = DEFAULT_AREA_THRESHOLD,
            min_side: int = DEFAULT_MIN_SIDE, progress: Callable[[int], None] | None = None) -> dict:
    """Oriented scores per scorer (whole images and crops pooled) and region counts per image."""

    cards = {name: check_scorer(name) for name in scorers}
    models = {name: registry.create(name) for name in scorers}
    values = {name: [] for name in scorers}
    counts, described = [], []
    for done, (key, family, level, image) in enumerate(images, start=1):
        regions, _ = segment_regions(image, segmenter, area_threshold, min_side)
        crops = [image] + [region.crop(image) for region in regions]
        counts.append(len(regions))
        described.append({"photo": key, "family": family, "level": level, "regions": len(regions)})
        for name, model in models.items():
            results = model.score_batch(crops) if hasattr(model, "score_batch") else [model.score(c) for c in crops]
            raw = np.array([r.score for r in results], dtype=np.float64)
            values[name].extend((-raw if cards[name].lower_better else raw).tolist())
        if progress:
            progress(done)
    return {"values": values, "counts": counts, "images": described}


def calibrate(scorers: Sequence[str], out: str | Path | None = None, split: str = "train", max_side: int = 1024,
              limit: int | None = None, segmenter_name: str | None = None,
              area_threshold: float = DEFAULT_AREA_THRESHOLD, min_side: int = DEFAULT_MIN_SIDE,
              command: str = "", progress: Callable[[int], None] | None = None) -> dict:
    """Measure and merge into the calibration JSON (module docstring); returns the written table."""

    segmenter = get_segmenter(segmenter_name)
    started = time.time()
    measured = measure(reference_images(split, max_side, limit), scorers, segmenter, area_threshold, min_side, progress)
    path = Path(out) if out else CALIBRATION_FILE
    table = json.loads(path.read_text()) if path.is_file() else {}
    table.update({"format": FORMAT, "probabilities": [round(float(p), 4) for p in PROBABILITIES]})
    photos = sorted({row["photo"] for row in measured["images"]})
    data = {"source": f"Debian photo packages ({split} split of backend.data.photos)", "split": split,
            "photos": len(photos), "images": len(measured["images"]), "max_side": max_side,
            "versions": "pristine + levels 1..5, one distortion family per (photo, level) seeded by the photo key",
            "segmenter": segmenter.name, "area_threshold": area_threshold, "min_side": min_side,
            "command": command, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "seconds": round(time.time() - started, 1)}
    for name, values in measured["values"].items():
        values = np.asarray(values)
        table.setdefault("scorers", {})[name] = {
            "lower_better": registry.card(name).lower_better, "values": int(len(values)),
            "quantiles": [float(v) for v in np.quantile(values, PROBABILITIES)], "data": data}
    counts = np.asarray(measured["counts"])
    table.setdefault("segmenters", {})[segmenter.name] = {
        "c_max": int(counts.max()), "mean_masks": round(float(counts.mean()), 3), "images": int(len(counts)),
        "area_threshold": area_threshold, "data": data}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1) + "\n")
    return table
