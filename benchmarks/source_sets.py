"""Distorted photos grouped by photo source, for the by-source sections of the quality benchmarks (issue #23).

Each source of ``backend.data.photos`` (plasma, mate, opencv, lomiri, gcompris, lxqt) and the unseen source
(``gcompris-unseen``, reported as ``unseen``) gives up to N photos (all splits, a fixed choice: the first N by
the SHA-256 of their key); each photo, prepared by the benchmark's ``prepare`` (a crop at the model's working
size), is distorted by ``families`` at levels 1-5 of ``backend.data.distortions`` (the pristine image once).
:func:`nr_by_source` scores them with registry NR models and reports, per source, the SRCC against -level
pooled over the source's images and ``within``: the mean SRCC of the six versions of each (photo, family),
the ranking a distortion level defines. A model trained on some photos of a source is not held out there
(the benchmark says which sources its card names; ``mean_over_held_out_sources`` leaves them out); the unseen
source is held out for every model. :func:`loso_line` prints a block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

DEFAULT_FAMILIES = ("gaussian_noise", "gaussian_blur", "jpeg")


def photos_by_source(per_source: int, include_unseen: bool = True) -> dict:
    """``{source: [Photo, ...]}`` with at most ``per_source`` photos each (installed sources only)."""
    from backend.data.photos import TRAINING_SOURCES, list_photos, unseen_photos
    from backend.errors import InputError

    out = {}
    for source in (*TRAINING_SOURCES, *(("unseen",) if include_unseen else ())):
        try:
            photos = unseen_photos() if source == "unseen" else list_photos(sources=(source,))
        except InputError:
            continue
        out[source] = sorted(photos, key=lambda p: hashlib.sha256(p.key.encode()).hexdigest())[:per_source]
    return out


def distorted(photos, prepare: Callable, families=DEFAULT_FAMILIES):
    """(images, levels, photo index, family) of ``photos`` prepared by ``prepare(photo)`` and distorted."""
    from backend.data.distortions import distort, rng_for

    images, levels, owners, kinds = [], [], [], []
    for index, photo in enumerate(photos):
        pristine = prepare(photo)
        images.append(pristine)
        levels.append(0)
        owners.append(index)
        kinds.append("pristine")
        for family in families:
            for level in range(1, 6):
                images.append(distort(pristine, family, level, rng_for(photo.key, family, level)))
                levels.append(level)
                owners.append(index)
                kinds.append(family)
    return images, np.array(levels), np.array(owners), np.array(kinds)


def level_figures(scores: np.ndarray, levels: np.ndarray, owners: np.ndarray, kinds: np.ndarray,
                  lower_better: bool = False) -> dict:
    """Pooled SRCC against -level and the mean within-(photo, family) SRCC (pristine in every family)."""
    from scipy import stats

    signed = -np.asarray(scores, float) if lower_better else np.asarray(scores, float)
    truth = -levels.astype(float)
    within = []
    for owner in np.unique(owners):
        for family in sorted(set(kinds[owners == owner]) - {"pristine"}):
            rows = (owners == owner) & ((kinds == family) | (kinds == "pristine"))
            if np.ptp(signed[rows]) > 0:
                within.append(float(stats.spearmanr(signed[rows], truth[rows]).statistic))
            else:
                within.append(0.0)
    pooled = float(stats.spearmanr(signed, truth).statistic) if np.ptp(signed) > 0 else 0.0
    return {"srcc": pooled, "within": float(np.mean(within)) if within else float("nan"), "images": int(len(scores)),
            "photos": int(len(np.unique(owners)))}


def nr_by_source(models: dict[str, object], per_source: int, prepare: Callable, families=DEFAULT_FAMILIES,
                 trained_on: dict[str, list[str]] | None = None, log: Callable[[str], None] = print) -> dict:
    """``{model: by_source.summary(...)}`` for NR ``models`` ({label: object with ``score(image)`` and a
    ``card``}) on the distorted photos of every source."""
    from backend.data import by_source

    per_model: dict[str, dict] = {label: {} for label in models}
    for source, photos in photos_by_source(per_source).items():
        if len(photos) < 2:
            continue
        images, levels, owners, kinds = distorted(photos, prepare, families)
        for label, model in models.items():
            scores = np.array([model.score(image).score for image in images], float)
            per_model[label][source] = level_figures(scores, levels, owners, kinds, model.card.lower_better)
        log(f"{source:16s} " + "  ".join(f"{label} {f[source]['srcc']:+.3f}/{f[source]['within']:+.3f}"
                                          for label, f in per_model.items()))
    out = {}
    for label, figures in per_model.items():
        sources = (trained_on or {}).get(label)
        block = by_source.summary(figures, trained_on=sources)
        block["trained_on_sources"] = sources
        out[label] = block
        log(loso_line(label, block, ("srcc", "within")))
    return out


def loso_line(label: str, block: dict, names: tuple[str, ...], width: int = 24) -> str:
    """One printed line of a by-source block: each held-out source's figures, the mean over held-out sources (the
    figure we steer by), the mean over all sources when a shipped model trained on some, and the unseen source."""

    def figures(entry: dict) -> str:
        return "/".join(f"{float(entry.get(n, float('nan'))):.3f}" for n in names)

    held = block.get("held_out_sources", list(block.get("per_source", {})))
    per = block.get("per_source", {})
    line = (f"{label:<{width}} LOSO ({'/'.join(names)}) " + " ".join(f"{s}:{figures(per[s])}" for s in held if s in per)
            + f" | mean over held-out sources {figures(block.get('mean_over_held_out_sources', {}))}")
    trained = [s for s in per if s not in held]
    if trained:
        line += (f" | trained on {','.join(trained)}: " + " ".join(f"{s}:{figures(per[s])}" for s in trained)
                 + f"; mean over all sources {figures(block.get('mean_over_sources', {}))}")
    if "unseen" in block:
        line += f" | unseen {figures(block['unseen'])}"
    return line
