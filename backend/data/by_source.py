"""Evaluation by photo source (issue #23): per-source figures and leave-one-source-out folds.

A model that learned its training photos' *content* instead of the quality cue looks good on held-out photos
of the same packages and fails on a photo collection it never saw. So every quality benchmark reports, beside
its usual split:

* **per source** -- the figure on the samples of each photo source (``backend.data.photos``: plasma, mate,
  opencv, lomiri, gcompris, lxqt), for models that are not trained (or whose shipped version is evaluated as it is);
* **leave-one-source-out (LOSO)** -- for models trained here: one fold per source, trained on the other
  sources (their ``train`` split; their ``validation`` split chooses checkpoints) and evaluated on every
  sample of the held-out source (all its splits: none of its photos was seen), then the mean over folds --
  the number we steer by;
* **unseen** -- the figure on the ``gcompris-unseen`` photos (split ``unseen``), the fixed set no training
  run or model choice ever reads.

A model shipped as it is (trained once on some sources) is held out only on the other sources: its block names
the sources it trained on, and ``mean_over_held_out_sources`` averages the rest. For a training-free model, or one
retrained per fold, every source is held out and that mean equals ``mean_over_sources``.

This module holds the bookkeeping only (which rows are in which fold, averaging); what a figure is stays
with each benchmark. Rows are described by two aligned sequences: each sample's ``source`` and ``split``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from backend.data.photos import UNSEEN_SOURCE, UNSEEN_SPLIT
from backend.errors import InputError


@dataclass(frozen=True)
class Fold:
    """One leave-one-source-out fold: boolean row masks of the rows to train on, to choose checkpoints on
    (the other sources' validation split) and to evaluate on (every row of the held-out source)."""

    held_out: str
    train: np.ndarray
    validation: np.ndarray
    evaluation: np.ndarray


def is_unseen(sources: Sequence[str], splits: Sequence[str] | None = None) -> np.ndarray:
    """Rows of the unseen evaluation source (by source, or by the ``unseen`` split when splits are given)."""
    unseen = np.asarray(sources, dtype=object) == UNSEEN_SOURCE
    if splits is not None:
        unseen |= np.asarray(splits, dtype=object) == UNSEEN_SPLIT
    return unseen


def sources_in(sources: Sequence[str]) -> list[str]:
    """The training sources present in ``sources`` (sorted; the unseen source is not one)."""
    return sorted({str(s) for s in sources} - {UNSEEN_SOURCE})


def leave_one_source_out(sources: Sequence[str], splits: Sequence[str], min_sources: int = 2) -> Iterator[Fold]:
    """The LOSO folds of a table with ``sources`` and ``splits`` columns (aligned), one per training source.

    Unseen rows are in no fold. Raises InputError when fewer than ``min_sources`` sources are present.
    """
    sources = np.asarray([str(s) for s in sources], dtype=object)
    splits = np.asarray([str(s) for s in splits], dtype=object)
    if len(sources) != len(splits):
        raise InputError("Sources and splits must have one entry per row.")
    present = sources_in(sources)
    if len(present) < min_sources:
        raise InputError(f"Leave-one-source-out needs at least {min_sources} photo sources; the data has "
                         f"{', '.join(present) or 'none'}. Build it with more sources (--sources).")
    unseen = is_unseen(sources, splits)
    for held_out in present:
        other = (sources != held_out) & ~unseen
        yield Fold(held_out, other & (splits == "train"), other & (splits == "validation"),
                   (sources == held_out) & ~unseen)


def figures_by_source(sources: Sequence[str], compute: Callable[[np.ndarray], dict], splits: Sequence[str] | None = None,
                      include_unseen: bool = True) -> dict[str, dict]:
    """``compute(mask)`` for the rows of each source (training-free models, or a shipped model as it is);
    the unseen source, when present, under the key ``unseen``."""
    sources = np.asarray([str(s) for s in sources], dtype=object)
    unseen = is_unseen(sources, splits)
    out = {source: compute((sources == source) & ~unseen) for source in sources_in(sources[~unseen])}
    if include_unseen and unseen.any():
        out["unseen"] = compute(unseen)
    return out


def mean_over_folds(per_fold: dict[str, dict], exclude: Sequence[str] = ("unseen",)) -> dict[str, float]:
    """The mean of every numeric figure over the folds (keys of ``per_fold``; ``exclude`` left out), with
    ``folds``: how many folds went in. Figures missing or NaN in a fold are averaged over the others."""
    folds = {k: v for k, v in per_fold.items() if k not in exclude}
    names = sorted({name for figures in folds.values() for name, value in figures.items()
                    if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)})
    mean: dict[str, float] = {}
    for name in names:
        values = [float(f[name]) for f in folds.values() if name in f and np.isfinite(float(f[name]))]
        if values:
            mean[name] = float(np.mean(values))
    mean["folds"] = len(folds)
    return mean


def summary(per_fold: dict[str, dict], unseen: dict | None = None, trained_on: Sequence[str] | None = None) -> dict:
    """``{"per_source": ..., "mean_over_sources": ..., "held_out_sources": ..., "mean_over_held_out_sources": ...,
    "unseen": ...}``, the block each benchmark writes.

    ``trained_on``: the sources a shipped model trained on (None: a training-free model, or per-fold retrained
    models whose every fold is held out). ``mean_over_held_out_sources`` averages only the other sources -- for a
    shipped model, the sources it never saw -- and is the figure we steer by (:func:`add_held_out_mean`).
    """
    out = {"per_source": {k: v for k, v in per_fold.items() if k != "unseen"},
           "mean_over_sources": mean_over_folds(per_fold)}
    unseen = unseen if unseen is not None else per_fold.get("unseen")
    if unseen is not None:
        out["unseen"] = unseen
    return add_held_out_mean(out, trained_on)


def add_held_out_mean(block: dict, trained_on: Sequence[str] | None = None) -> dict:
    """Add ``held_out_sources`` (the sources of ``block["per_source"]`` outside ``trained_on``) and
    ``mean_over_held_out_sources`` (their mean, :func:`mean_over_folds`) to a :func:`summary` block; returns it.
    With ``trained_on`` None the block's own ``trained_on_sources`` (when present) is used."""
    if trained_on is None:
        trained_on = block.get("trained_on_sources")
    trained = {str(s) for s in (trained_on or ())}
    per_source = block.get("per_source", {})
    held = [s for s in per_source if s not in trained]
    block["held_out_sources"] = held
    block["mean_over_held_out_sources"] = mean_over_folds({s: per_source[s] for s in held})
    return block


def source_counts(sources: Sequence[str], keys: Sequence[str] | None = None) -> dict[str, int]:
    """Samples per source, or (``keys``) distinct photos per source."""
    sources = [str(s) for s in sources]
    if keys is None:
        return {s: sources.count(s) for s in sorted(set(sources))}
    distinct: dict[str, set] = {}
    for source, key in zip(sources, keys, strict=True):
        distinct.setdefault(source, set()).add(str(key))
    return {s: len(v) for s, v in sorted(distinct.items())}
