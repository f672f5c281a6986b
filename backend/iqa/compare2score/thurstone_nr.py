"""Any registry no-reference model as a Compare2Score comparator, through Thurstone's model (paper 001).

A scorer s(x) is first mapped to the MOS scale of a scored set by least squares, ``mos ~ a + c s``, and
its residual standard deviation ``r`` is the spread of one prediction. For a pair (first i, second j)
Thurstone's Case V model makes the quality difference Gaussian,

    D = q_i - q_j ~ N(c (s_i - s_j), 2 r^2),

and the five level probabilities are its mass in the intervals of Eq. 2, with the significance scale
``sigma_ij = sqrt(2) * median(mos_std)`` of the same scored set (levels.py: inferior if D > 2 sigma, ...,
superior if D <= -2 sigma). The spread (a, c, r, median std) is "fitted on a scored set" with
``python -m backend compare2score-fit-nr --scorer NAME --set CSV`` and stored in
``assets/compare2score/nr_thurstone.json``; the comparator name is ``nr-thurstone:NAME``. A
lower-is-better metric simply gets a negative slope c.

This is the paper's Table 3 idea -- any model can feed the probability matrix -- applied to single-image
scorers; the resulting Compare2Score score is close to a monotone function of the scorer's own score,
which makes it a baseline for what the comparison step adds.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import special

from backend import registry
from backend.data.scored_set import read_scored_set
from backend.errors import InputError, ModelUnavailableError
from backend.images import content_hash, load_image
from backend.iqa.compare2score.comparators import Comparator, check_pair_lists
from backend.weights import ASSETS_DIR

FITS_FILE = ASSETS_DIR / "compare2score" / "nr_thurstone.json"


def read_fits(path: Path = FITS_FILE) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def level_probabilities(mean_difference: np.ndarray, difference_sd: float, significance: float) -> np.ndarray:
    """Mass of N(mean, sd^2) in the five Eq. 2 intervals (inferior first) -> (N, 5)."""
    mean = np.asarray(mean_difference, dtype=np.float64)[:, None]
    edges = np.array([2.0, 1.0, -1.0, -2.0]) * significance  # descending: inferior | worse | similar | better | superior
    upper_tail = special.ndtr((mean - edges[None, :]) / difference_sd)  # P(D > edge)
    cumulative = np.concatenate([np.zeros((len(mean), 1)), upper_tail, np.ones((len(mean), 1))], axis=1)
    return np.clip(np.diff(cumulative, axis=1), 0.0, 1.0)


class ThurstoneComparator(Comparator):
    """``nr-thurstone:<scorer>``: level probabilities from a fitted NR scorer (module docstring)."""

    def __init__(self, scorer: str, fit: dict | None = None, fits_file: str | Path | None = None):
        card = registry.card(scorer)
        if card.task != "iqa-nr":
            raise InputError(f"'{scorer}' is a {card.task} model; nr-thurstone needs a no-reference (iqa-nr) model.")
        if fit is None:
            fit = read_fits(Path(fits_file) if fits_file else FITS_FILE).get(scorer)
        if fit is None:
            raise ModelUnavailableError(
                f"No Thurstone spread is fitted for '{scorer}'; run `python -m backend compare2score-fit-nr "
                f"--scorer {scorer} --set SCORED.csv` first.")
        self.scorer_name = scorer
        self.fit = fit
        self.name = f"nr-thurstone:{scorer}"
        self._scorer = None
        self._cache: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return f"{self.name}:{self.fit['slope']:.6g}:{self.fit['residual_sd']:.6g}:{self.fit['significance']:.6g}"

    def scores(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if self._scorer is None:
            self._scorer = registry.create(self.scorer_name)
        out = np.empty(len(images))
        for index, image in enumerate(images):
            key = content_hash(image)
            with self._lock:
                cached = self._cache.get(key)
            if cached is None:
                cached = float(self._scorer.score(image).score)
                with self._lock:
                    self._cache[key] = cached
                    while len(self._cache) > 256:
                        self._cache.popitem(last=False)
            out[index] = cached
        return out

    def probabilities_from_scores(self, first_scores: np.ndarray, second_scores: np.ndarray) -> np.ndarray:
        mean = self.fit["slope"] * (np.asarray(first_scores) - np.asarray(second_scores))
        return level_probabilities(mean, np.sqrt(2.0) * self.fit["residual_sd"], self.fit["significance"])

    def compare_batch(self, firsts: Sequence[np.ndarray], seconds: Sequence[np.ndarray]) -> np.ndarray:
        check_pair_lists(firsts, seconds)
        return self.probabilities_from_scores(self.scores(firsts), self.scores(seconds))

    def compare_with_anchors(self, anchors: Sequence[np.ndarray], images: Sequence[np.ndarray]) -> np.ndarray:
        anchor_scores, image_scores = self.scores(anchors), self.scores(images)
        first = np.tile(anchor_scores, len(images))
        second = np.repeat(image_scores, len(anchors))
        return self.probabilities_from_scores(first, second).reshape(len(images), len(anchors), 5)


def fit_from_scores(scores: np.ndarray, mos: np.ndarray, mos_std: np.ndarray) -> dict:
    """Least-squares map of scores onto MOS, residual spread and the Eq. 2 significance scale."""
    from scipy import stats

    scores, mos = np.asarray(scores, float), np.asarray(mos, float)
    keep = np.isfinite(scores)
    if keep.sum() < 3 or np.ptp(scores[keep]) == 0:
        raise InputError("Fitting the spread needs at least 3 finite, non-constant scores.")
    slope, intercept = np.polyfit(scores[keep], mos[keep], 1)
    residual = mos[keep] - (intercept + slope * scores[keep])
    return {"slope": float(slope), "intercept": float(intercept),
            "residual_sd": float(max(np.std(residual, ddof=2) if keep.sum() > 2 else 0.0, 1e-3)),
            "significance": float(np.sqrt(2.0) * np.median(np.asarray(mos_std, float)[keep])),
            "rows": int(keep.sum()), "srcc": float(stats.spearmanr(scores[keep], mos[keep]).statistic)}


def fit_scorer(scorer: str, scored_csv: str | Path, split: str | None = "train", limit: int | None = 400,
               out: str | Path | None = None) -> dict:
    """Score (a deterministic subsample of) a scored set with ``scorer``, fit, and store the fit."""
    from tqdm import tqdm


    card = registry.card(scorer)
    if card.task != "iqa-nr":
        raise InputError(f"'{scorer}' is a {card.task} model; fit a no-reference (iqa-nr) model.")
    table = read_scored_set(scored_csv)
    if split and "split" in table.columns:
        table = table[table["split"] == split].reset_index(drop=True)
    if limit and len(table) > limit:
        table = table.sample(n=limit, random_state=0).reset_index(drop=True)
    model = registry.create(scorer)
    scores = np.array([model.score(load_image(p)).score for p in tqdm(table["path"], desc=f"scoring with {scorer}",
                                                                        unit="img", file=__import__("sys").stderr)])
    fit = {**fit_from_scores(scores, table["mos"].to_numpy(), table["mos_std"].to_numpy()),
           "scored_set": str(scored_csv), "split": split, "lower_better": card.lower_better}
    path = Path(out) if out else FITS_FILE
    fits = read_fits(path)
    fits[scorer] = fit
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fits, indent=2, sort_keys=True))
    return fit
