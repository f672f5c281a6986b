"""Offline standard-guided scorer (paper 003 Sec. 3.1 without an MLLM): any registry no-reference model on 1..K.

The MLLM of the paper answers one of K levels. Offline, a registry ``iqa-nr`` model gives a raw value on
its own scale; this module maps it onto the K levels by its distribution over a reference set (quantile
mapping, written by ``python -m backend dogiqa-calibrate``, see ``calibrate``):

    q = raw (or -raw for lower-better models)       so that higher q is better
    F = empirical CDF of q over the reference set   (linear interpolation between 101 stored quantiles)
    level    = min(K, floor(K F) + 1)               the K equal-probability bins: the "argmax" readout
    weighted = 1 + (K - 1) F                        continuous, strictly increasing in q: the analogue of
                                                     the VLM's probability-weighted score

The reference set (``assets/dogiqa/calibration.json``, card inside) is what the scorer sees in Dog-IQA:
whole images and Algorithm 1 crops of train-split Debian photos, pristine and distorted at levels 1..5,
so "level 4 of 7" means "better than about half of what such a scorer sees". A reference set with other
content shifts the levels but not the ranking of the weighted score.

Tiny crops: Algorithm 1 widens crops to at least 64 px per side (``algorithm.DEFAULT_MIN_SIDE``). An input
the model refuses (e.g. a perfectly flat crop, whose statistics are undefined) is treated like the paper's
non-numeric MLLM answer: level 1 and weighted 1, marked ``unscored`` with the model's reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from backend import registry
from backend.errors import HarmonyLabError, InputError, ModelUnavailableError
from backend.iqa.dogiqa.aggregate import check_levels
from backend.iqa.dogiqa.standard import READOUTS, LevelScore
from backend.weights import ASSETS_DIR

CALIBRATION_FILE = ASSETS_DIR / "dogiqa" / "calibration.json"
CALIBRATION_ASSET = "dogiqa/calibration.json"
DEFAULT_SCORER = "piqe"  # best held-out SRCC of the calibrated scorers in benchmarks/dogiqa.py, 0.6 s per image
NOT_SCORERS = ("dogiqa", "dogiqa-vlm")


@lru_cache(maxsize=8)
def _read(path: str, stamp: int) -> dict:
    return json.loads(Path(path).read_text())


def read_calibration(path: str | Path | None = None) -> dict:
    """The calibration JSON (cached per path and modification time); InputError when it is missing."""
    path = Path(path) if path else CALIBRATION_FILE
    if not path.is_file():
        raise ModelUnavailableError(f"The Dog-IQA calibration file {path} is missing; create it with "
                                    "`python -m backend dogiqa-calibrate`.")
    return _read(str(path), path.stat().st_mtime_ns)


def level_position(values: np.ndarray, quantiles: Sequence[float], probabilities: Sequence[float]) -> np.ndarray:
    """Empirical CDF F of ``values`` from stored quantiles (linear between them, 0/1 outside)."""
    quantiles, probabilities = np.asarray(quantiles, dtype=np.float64), np.asarray(probabilities, dtype=np.float64)
    # equal quantiles (a point mass) would make the interpolation ambiguous: give each its mean probability
    unique, inverse = np.unique(quantiles, return_inverse=True)
    means = np.bincount(inverse, probabilities) / np.bincount(inverse)
    if len(unique) == 1:
        return np.where(values < unique[0], 0.0, np.where(values > unique[0], 1.0, 0.5))
    return np.interp(np.asarray(values, dtype=np.float64), unique, means, left=0.0, right=1.0)


def levels_from_position(position: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(level 1..K, weighted 1..K) from CDF positions in 0..1 (module docstring)."""
    position = np.clip(np.asarray(position, dtype=np.float64), 0.0, 1.0)
    level = np.minimum(k, np.floor(k * position).astype(int) + 1)
    return level, 1.0 + (k - 1) * position


def check_scorer(name: str):
    """The registry card of an NR model usable as a Dog-IQA scorer (InputError otherwise)."""

    card = registry.card(name)
    if card.task != "iqa-nr" or card.needs_prompt or card.needs_mask or name in NOT_SCORERS:
        usable = [c.name for c in registry.list_models("iqa-nr")
                  if not (c.needs_prompt or c.needs_mask or c.name in NOT_SCORERS)]
        raise InputError(f"'{name}' cannot score Dog-IQA regions on its own; use a no-reference model "
                         f"({', '.join(usable)}) or vlm:<hub id>[@revision].")
    return card


class QuantileScorer:
    """A registry no-reference model mapped onto the K-level standard by reference quantiles."""

    def __init__(self, model: str = DEFAULT_SCORER, k: int = 7, calibration: str | Path | None = None):
        self.k = check_levels(k)
        self.card = check_scorer(model)
        table = read_calibration(calibration)
        fits = table.get("scorers", {})
        if model not in fits:
            raise ModelUnavailableError(
                f"'{model}' has no reference quantiles for Dog-IQA (calibrated: {', '.join(sorted(fits)) or 'none'}); "
                f"run `python -m backend dogiqa-calibrate --scorer {model}`.")
        self.fit = fits[model]
        self.probabilities = table["probabilities"]
        self.model = registry.create(model)
        self.name = model

    def _score(self, images: Sequence[np.ndarray]) -> list[float]:
        if hasattr(self.model, "score_batch"):
            return [r.score for r in self.model.score_batch(list(images))]
        return [self.model.score(image).score for image in images]

    def raw_scores(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, dict[int, str]]:
        """Raw model scores (NaN where the model refuses an input) and the refusals by position."""
        try:
            return np.array(self._score(images), dtype=np.float64), {}
        except HarmonyLabError:  # find the input(s) the model refuses and score the others
            values, refused = [], {}
            for index, image in enumerate(images):
                try:
                    values.append(self._score([image])[0])
                except HarmonyLabError as error:
                    values.append(np.nan)
                    refused[index] = str(error)
            return np.array(values, dtype=np.float64), refused

    def levels(self, images: Sequence[np.ndarray], readout: str = "argmax") -> list[LevelScore]:
        if readout not in READOUTS or readout == "generated":
            raise InputError(f"The offline scorer reads out 'argmax' or 'weighted', not '{readout}' "
                             "(generated answers need a VLM).")
        raw, refused = self.raw_scores(images)
        oriented = -raw if self.card.lower_better else raw
        position = np.where(np.isnan(oriented), 0.0, level_position(np.nan_to_num(oriented), self.fit["quantiles"],
                                                                     self.probabilities))
        levels, weighted = levels_from_position(position, self.k)
        results = [LevelScore(int(level), float(value), raw=float(r), extra={"cdf": float(p)})
                   for level, value, r, p in zip(levels, weighted, raw, position, strict=True)]
        for index, reason in refused.items():  # the paper's rule for an unusable answer: score 1
            results[index].raw = None
            results[index].extra["unscored"] = reason
        return results
