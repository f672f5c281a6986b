"""Leaderboard service: scores from a campaign's judgments, and IQA models benchmarked against people.

Pairwise campaigns (paper 002's user study): methods are scaled from the 2AFC votes with Bradley–Terry or
Thurstone Case V (``backend.scaling.pairwise``). Rating campaigns (paper 000 Sec. II): each method's mean of
its images' MOS, on the campaign's own 1-5 scale (default) or as paper 000's z-score MOS on 0-100
(``backend.scaling.mos``, Eq. 1 after BT.500 screening). Flagged annotators, gold answers and answers undone
on the worker page are excluded.

Intervals (issue #22: a single annotator or a handful of votes must give wide intervals, never zero width):
a bootstrap that resamples whole annotators when there are at least ``MIN_ANNOTATORS_TO_RESAMPLE`` of them
(their answers are correlated) and single answers otherwise (resampling one annotator redraws the same data),
combined with the model's own uncertainty so that the interval is never narrower than it: pairwise, the
Laplace interval of the fit (with a weak prior on each score, :data:`LEADERBOARD_PRIOR`, so that a method losing
every vote gets a finite interval); ratings, the t-interval of the mean with at least the spread of rounding to a
whole rating (1/sqrt(12) of a step), and the whole scale for a method rated once. Rating intervals are
clipped to the scale. Every report states the scale, the interval, the vote counts and the agreement
between annotators (Krippendorff's alpha, ``backend.scaling.agreement``).

People's scores of the items come from :mod:`backend.campaign_scores` (the same service the HarmonyIQA
training rows and PromptIQA campaign prompts use).

Ranks respect CI overlap: a method's rank range runs from 1 + (methods whose CI lies wholly above its CI)
to n - (methods whose CI lies wholly below it), so methods that cannot be told apart share a range.

Models vs people: every ordinary item of the campaign is scored by the chosen registry models and compared
with the human scores by SRCC, KRCC and PLCC (4-parameter logistic) with bootstrap CIs
(``backend.scaling.correlation``), the sign of lower-is-better models flipped. For pairwise campaigns the
human score of an item is its Thurstone score; items are only compared within their group, so a group's
scores are only defined up to an offset — both the human and the model scores are therefore centred per
group before correlating (groups with a single compared item are left out).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from backend import registry
from backend.campaign_scores import campaign_scores, judgments
from backend.errors import InputError, shown
from backend.images import load_image
from backend.scaling.agreement import rating_agreement, vote_agreement
from backend.scaling.correlation import bootstrap_correlations
from backend.scaling.mos import compute_mos
from backend.scaling.pairwise import MIN_ANNOTATORS_TO_RESAMPLE, bootstrap_unit, scale_votes
from backend.store import quality
from backend.store.annotators import pseudonym
from backend.store.campaigns import get_campaign
from backend.store.db import default_database
from backend.store.export import answers_table

PAIRWISE_MODELS = ("bt", "thurstone")
RATING_SCALES = {
    "rating": "the campaign's own 1–5 rating scale (1 bad … 5 excellent): each image's mean rating, averaged over "
              "the method's images",
    "mos100": "MOS on 0–100 (paper 000 Eq. 1: each annotator's ratings as z-scores, MOS = 100 (z + 3) / 6, so 50 is "
              "an annotator's average rating and ±1 sd is ±16.7), averaged over the method's images",
}
RATING_STEP_SD = 1.0 / np.sqrt(12.0)  # sd of the rounding to a whole rating: the least spread a rating carries
MAX_BOOTSTRAP_ROUNDS = 10_000


def bootstrap_rounds(value: object) -> int:
    """The number of bootstrap rounds asked for: a whole number from 0 to ``MAX_BOOTSTRAP_ROUNDS`` (also as
    text or as 200.0); anything else — NaN, infinity, fractions, negative or huge numbers — is refused with
    a sentence instead of producing a NaN interval or a crash."""
    number = None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        number = int(value.strip())
    elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        number = int(value) if 0 <= value <= MAX_BOOTSTRAP_ROUNDS else None
    elif isinstance(value, (float, np.floating)) and 0 <= value <= MAX_BOOTSTRAP_ROUNDS and float(value).is_integer():
        number = int(value)
    if number is None or not 0 <= number <= MAX_BOOTSTRAP_ROUNDS:
        raise InputError(f"The number of bootstrap rounds {shown(value)} is not usable; give a whole number from 0 "
                         f"to {MAX_BOOTSTRAP_ROUNDS} (e.g. 200).")
    return number


def rank_ranges(ci_low: np.ndarray, ci_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best and worst rank of each entry given its CI (higher scores rank first)."""
    ci_low, ci_high = np.asarray(ci_low, float), np.asarray(ci_high, float)
    clearly_above = (ci_low[None, :] > ci_high[:, None]).sum(axis=1)  # others wholly above me
    clearly_below = (ci_high[None, :] < ci_low[:, None]).sum(axis=1)
    n = len(ci_low)
    return clearly_above + 1, n - clearly_below


def _with_ranks(table: pd.DataFrame) -> pd.DataFrame:
    table = table.sort_values("score", ascending=False).reset_index(drop=True)
    best, worst = rank_ranges(table["ci_low"].fillna(-np.inf), table["ci_high"].fillna(np.inf))
    table.insert(0, "rank", [f"{b}" if b == w else f"{b}–{w}" for b, w in zip(best, worst, strict=True)])
    return table


@dataclass
class RankingReport:
    """A campaign's method ranking and what it rests on (shown beside the table)."""

    table: pd.DataFrame  # rank, method, score, ci_low, ci_high, n, annotators[, images]
    summary: dict

    @property
    def text(self) -> str:
        s = self.summary
        lines = [f"**{s['answers']} {s['answer_word']}** from **{s['annotators']} "
                 f"annotator{'s' if s['annotators'] != 1 else ''}** (flagged annotators, gold answers and undone "
                 "answers left out).",
                 f"Score: {s['scale']}.", f"Intervals: {s['interval']}.", f"{s['agreement']}."]
        if s.get("caution"):
            lines.append(f"⚠ {s['caution']}")
        return "\n\n".join(lines)


def method_ranking(name: str, model: str = "bt", n_bootstrap: int = 200, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None, db=None, scale: str = "rating") -> pd.DataFrame:
    """Methods ranked with CIs: ``rank, method, score, ci_low, ci_high, n, annotators`` (see :func:`ranking_report`)."""
    return ranking_report(name, model, n_bootstrap, seed, progress, db, scale).table


def ranking_report(name: str, model: str = "bt", n_bootstrap: int = 200, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None, db=None,
                   scale: str = "rating") -> RankingReport:
    """Methods ranked with CIs and rank ranges, vote counts and agreement.

    Pairwise: ``model`` (``bt`` or ``thurstone``) scores from the votes; ``n`` is the votes a method took part
    in. Rating: ``scale`` is ``rating`` (the campaign's own 1-5 scale: each image's mean rating, averaged over
    the method's images) or ``mos100`` (paper 000 Eq. 1 z-score MOS, 0-100); ``n`` is the method's ratings,
    ``images`` its images. Intervals: bootstrap (annotators resampled when there are at least
    ``MIN_ANNOTATORS_TO_RESAMPLE``, else single answers) and never narrower than the model's own
    uncertainty (module docstring); with 0 rounds, that uncertainty alone. ``progress(done, total)`` is
    called after each bootstrap round.
    """
    n_bootstrap = bootstrap_rounds(n_bootstrap)
    info, answers, _ = judgments(name, db)
    if answers.empty:
        raise InputError(f"Campaign '{name}' has no answers yet (flagged annotators and gold answers excluded).")
    if info.kind == "pairwise":
        return _pairwise_report(info, answers, model, n_bootstrap, seed, progress)
    if scale not in RATING_SCALES:
        raise InputError(f"Unknown MOS scale '{scale}'; choose one of {', '.join(RATING_SCALES)}.")
    return _rating_report(info, answers, scale, n_bootstrap, seed, progress)


def _annotators_per_method(answers: pd.DataFrame, methods) -> list[int]:
    if "left" in answers.columns:
        return [int(answers.loc[(answers["left"] == m) | (answers["right"] == m), "annotator"].nunique()) for m in methods]
    return [int(answers.loc[answers["method"] == m, "annotator"].nunique()) for m in methods]


def _caution(n_annotators: int, n_answers: int, n_methods: int) -> str:
    if n_annotators < MIN_ANNOTATORS_TO_RESAMPLE or n_answers < 10 * n_methods:
        return (f"Few judgments so far ({n_answers} from {n_annotators} annotator{'s' if n_annotators != 1 else ''}): "
                "the intervals are wide and ranks overlap; collect more before drawing conclusions.")
    return ""


# Prior strength (lambda of backend.scaling.pairwise) of the leaderboard's fits: Thurstone's standard-normal prior
# of paper 001 Eq. 6, and for Bradley-Terry the same prior on the logistic scale (sd 1.702 logits, the factor
# that matches the logistic to the normal CDF). Without it a method that loses (nearly) every vote has no finite
# maximum-likelihood score: the scaling CLI's near-ML ridge (1e-6) then gives a gap of ~log(n / 1e-6) and a Laplace
# standard error of ~1/sqrt(1e-6), i.e. intervals of hundreds of logits that say nothing. With the prior such a
# method sits a few units below the others with an interval of a few units: wide, finite, and still never zero.
LEADERBOARD_PRIOR = {"thurstone": 1.0, "bt": 1.0 / 1.702**2}


def _pairwise_report(info, answers, model, n_bootstrap, seed, progress) -> RankingReport:
    if model not in PAIRWISE_MODELS:
        raise InputError(f"Unknown scaling model '{model}'; choose one of {', '.join(PAIRWISE_MODELS)}.")
    votes = answers[["annotator", "left", "right", "choice"]]
    table = scale_votes(votes, "thurstone" if model == "thurstone" else "bt", n_bootstrap=n_bootstrap,
                        seed=seed, progress=progress, prior_strength=LEADERBOARD_PRIOR[model])
    interval = table.attrs.get("interval", "")
    table = table.rename(columns={"item": "method", "n_comparisons": "n"})[["method", "score", "ci_low", "ci_high", "n"]]
    table["n"] = table["n"].round().astype(int)  # votes a method took part in (a tie is one vote too)
    table["annotators"] = _annotators_per_method(answers, table["method"])
    n_annotators = int(answers["annotator"].nunique())
    scale_text = ("Bradley–Terry log-strength (logistic; a difference of 1 means the higher one wins 73 % of the "
                  "time)" if model == "bt" else "Thurstone Case V scale (a difference of 1 means the higher one "
                  "wins 84 % of the time)") + ", centred on 0, with a weak standard-normal-like prior on each method's score"
    summary = {"kind": "pairwise", "answers": int(len(answers)), "answer_word": "votes", "annotators": n_annotators,
               "scale": scale_text, "interval": interval, "bootstrap_unit": bootstrap_unit(n_annotators),
               "agreement": vote_agreement(answers).text,
               "caution": _caution(n_annotators, len(answers), len(table))}
    return RankingReport(_with_ranks(table), summary)


def _rating_values(info, answers: pd.DataFrame, scale: str) -> tuple[pd.DataFrame, tuple[float, float], float]:
    """One row per rating (annotator, item, method, value) on ``scale``, the scale's bounds, and the sd of
    one rating step on it (the resolution a whole-number rating has)."""
    if scale == "rating":
        values = answers[["annotator", "item", "method", "score"]].rename(columns={"score": "value"})
        return values.astype({"value": float}), (1.0, 5.0), RATING_STEP_SD
    result = compute_mos(answers[["annotator", "item", "score"]])
    stacked = result.values.stack().dropna().rename("value").reset_index()  # annotator, item, value
    stacked = stacked.rename(columns={stacked.columns[0]: "annotator", stacked.columns[1]: "item"})
    methods = dict(zip(answers["item"], answers["method"], strict=False))
    stacked["method"] = stacked["item"].map(methods)
    spread = answers.groupby("annotator")["score"].std(ddof=1)
    spread = float(spread[spread > 0].mean()) if (spread > 0).any() else 1.0
    return stacked[["annotator", "item", "method", "value"]], (0.0, 100.0), 100.0 / 6.0 * RATING_STEP_SD / spread


def _mean_of_item_means(weights: np.ndarray, values: np.ndarray, item_index: np.ndarray, n_items: int) -> np.ndarray:
    """Per row of ``weights`` (rounds x ratings): the mean over items of each item's weighted mean rating."""
    rounds = weights.shape[0]
    sums, counts = np.zeros((rounds, n_items)), np.zeros((rounds, n_items))
    for k in range(n_items):
        chosen = item_index == k
        sums[:, k] = weights[:, chosen] @ values[chosen]
        counts[:, k] = weights[:, chosen].sum(axis=1)
    means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)
    with warnings.catch_warnings():  # a resample without any of these ratings gives NaN, skipped by the percentiles
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(means, axis=1)


def _rating_report(info, answers, scale, n_bootstrap, seed, progress) -> RankingReport:
    values, (low_bound, high_bound), step_sd = _rating_values(info, answers, scale)
    if values.empty:
        raise InputError(f"Campaign '{info.name}' has no MOS on 0–100 yet: an annotator's ratings become z-scores only "
                         "when they are not all equal; show the 1–5 scale instead.")
    unit = bootstrap_unit(int(values["annotator"].nunique()))
    rng = np.random.default_rng(seed)
    rows = []
    methods = sorted(values["method"].dropna().unique())
    for index, method in enumerate(methods):
        group = values[values["method"] == method]
        items, item_index = np.unique(group["item"].to_numpy(), return_inverse=True)
        v = group["value"].to_numpy(float)
        score = float(_mean_of_item_means(np.ones((1, len(v))), v, item_index, len(items))[0])
        n = len(v)
        if n < 2:  # one rating says nothing about its spread: the interval is the whole scale
            low, high = low_bound, high_bound
        else:
            sd = max(float(np.std(v, ddof=1)), step_sd)
            half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
            low, high = score - half, score + half
            if n_bootstrap:
                if unit == "annotator":
                    who, position = np.unique(group["annotator"].astype(str).to_numpy(), return_inverse=True)
                    picks = rng.integers(0, len(who), (n_bootstrap, len(who)))
                    counts = np.stack([np.bincount(p, minlength=len(who)) for p in picks])
                    weights = counts[:, position].astype(float)
                else:
                    picks = rng.integers(0, n, (n_bootstrap, n))
                    weights = np.stack([np.bincount(p, minlength=n) for p in picks]).astype(float)
                samples = _mean_of_item_means(weights, v, item_index, len(items))
                boot_low, boot_high = np.nanpercentile(samples, [2.5, 97.5])
                low, high = min(low, boot_low), max(high, boot_high)
        rows.append({"method": method, "score": score, "ci_low": max(low, low_bound), "ci_high": min(high, high_bound),
                     "n": n, "annotators": int(group["annotator"].nunique()), "images": len(items)})
        if progress is not None:
            progress(index + 1, len(methods))
    table = _with_ranks(pd.DataFrame(rows))
    n_annotators = int(answers["annotator"].nunique())
    interval = ("95 % interval of the mean (t, at least one rating step of spread) widened to the bootstrap "
                f"percentile interval over {n_bootstrap} resamples of "
                f"{'annotators' if unit == 'annotator' else 'single ratings'}" if n_bootstrap else
                "95 % t-interval of the mean, at least one rating step of spread") + (
                f"; clipped to the scale {low_bound:g}–{high_bound:g}; a method with a single rating spans the "
                "whole scale")
    summary = {"kind": "rating", "answers": int(len(answers)), "answer_word": "ratings", "annotators": n_annotators,
               "scale": RATING_SCALES[scale], "scale_range": (low_bound, high_bound), "interval": interval,
               "bootstrap_unit": unit, "agreement": rating_agreement(answers).text,
               "caution": _caution(n_annotators, len(answers), len(table))}
    return RankingReport(table, summary)


def image_mos(name: str, db=None, scale: str = "mos100") -> pd.DataFrame:
    """Per-image MOS of a rating campaign: item, mos, ci_low, ci_high, n_ratings, method. ``scale`` ``mos100``
    is paper 000 Eq. 1 after BT.500 screening; ``rating`` the mean rating on the campaign's 1-5 scale."""
    if scale == "rating":
        info, answers, _ = judgments(name, db)
        if info.kind != "rating":
            raise InputError(f"Campaign '{name}' is a pairwise campaign; MOS need a rating campaign.")
        grouped = answers.groupby("item")
        table = pd.DataFrame({"mos": grouped["score"].mean(), "n_ratings": grouped.size(),
                              "method": grouped["method"].first()}).reset_index()
        table["ci_low"], table["ci_high"] = np.nan, np.nan
        return table[["item", "mos", "ci_low", "ci_high", "n_ratings", "method"]]
    table = campaign_scores(name, db, kind="rating").table
    return table.rename(columns={"human": "mos", "n": "n_ratings"})[["item", "mos", "ci_low", "ci_high", "n_ratings",
                                                                      "method"]]


def win_rates(name: str, db=None) -> pd.DataFrame:
    """Method x method share of wins of the row method against the column method (ties as halves)."""
    info, answers, _ = judgments(name, db)
    if info.kind != "pairwise":
        raise InputError(f"Campaign '{name}' is a rating campaign; win rates need pairwise votes.")
    methods = sorted(set(answers["left"]) | set(answers["right"]))
    index = {m: k for k, m in enumerate(methods)}
    wins = np.zeros((len(methods), len(methods)))
    credit = {"left": (1.0, 0.0), "right": (0.0, 1.0), "tie": (0.5, 0.5)}
    for left, right, choice in answers[["left", "right", "choice"]].itertuples(index=False):
        to_left, to_right = credit[choice]
        wins[index[left], index[right]] += to_left
        wins[index[right], index[left]] += to_right
    games = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, wins / games, np.nan)
    return pd.DataFrame(rate, index=methods, columns=methods)


def comparison_counts(name: str, db=None) -> pd.DataFrame:
    """Method x method number of votes between the two methods (either side)."""
    info, answers, _ = judgments(name, db)
    if info.kind != "pairwise":
        raise InputError(f"Campaign '{name}' is a rating campaign; vote counts need pairwise votes.")
    methods = sorted(set(answers["left"]) | set(answers["right"]))
    counts = pd.DataFrame(0, index=methods, columns=methods)
    for (left, right), size in answers.groupby(["left", "right"]).size().items():
        counts.loc[left, right] += size
        counts.loc[right, left] += size
    return counts


def annotator_qc(name: str, db=None, *, pseudonyms: bool = True) -> pd.DataFrame:
    """Per annotator: answers, gold accuracy, median response time, flag (flagged ones included).

    Annotators are shown by pseudonym (:func:`backend.store.annotators.pseudonym`), never by key: the table
    is public. ``pseudonyms=False`` gives the keys (for the admin and the command line).
    """
    db = db or default_database()
    info = get_campaign(name, db)
    answers = answers_table(name, db, include_flagged=True, include_gold=True)
    if answers.empty:
        return pd.DataFrame(columns=["annotator", "answers", "gold_answered", "gold_accuracy",
                                     "median_response_ms", "flagged"])
    gold = quality.gold_accuracy(db, info)
    grouped = answers.groupby("annotator")
    table = pd.DataFrame({
        "answers": grouped.size(),
        "median_response_ms": grouped["response_ms"].median(),
        "flagged": grouped["annotator_flagged"].any(),
    }).reset_index()
    table["gold_answered"] = table["annotator"].map(lambda a: gold.get(a, (0, 0))[0])
    table["gold_accuracy"] = table["annotator"].map(
        lambda a: gold[a][1] / gold[a][0] if gold.get(a, (0, 0))[0] else np.nan)
    if pseudonyms:
        table["annotator"] = table["annotator"].map(lambda key: pseudonym(info.secret, key))
    return table[["annotator", "answers", "gold_answered", "gold_accuracy", "median_response_ms", "flagged"]]


@dataclass
class ModelsVsPeople:
    correlations: pd.DataFrame  # model, srcc, srcc_low, srcc_high, krcc..., plcc..., n_items
    item_scores: pd.DataFrame  # item, group, method, human, <model>...


def models_vs_people(name: str, model_names: Sequence[str], n_bootstrap: int = 500, seed: int = 0,
                     progress: Callable[[float, str], None] | None = None, db=None) -> ModelsVsPeople:
    """Score the campaign's items with each model and correlate with the human scores (with CIs)."""
    n_bootstrap = bootstrap_rounds(n_bootstrap)
    if not model_names:
        raise InputError("No model was chosen; pick at least one registry IQA model to compare with people.")
    people = campaign_scores(name, db)
    info, files = people.info, people.table
    table = files[["item", "group", "method", "human"]].copy()
    if len(table) < 3:
        raise InputError(f"Campaign '{name}' has human scores for {len(table)} items; correlations need at least 3.")
    cards = [registry.card(m) for m in model_names]
    for card in cards:
        if card.task not in ("iqa-fr", "iqa-nr"):
            raise InputError(f"'{card.name}' is a {card.task} model, not an image-quality model.")
        if card.needs_mask:
            raise InputError(f"'{card.name}' needs a foreground mask, which campaign items do not carry.")
        if card.full_reference and files["reference"].isna().any():
            raise InputError(f"'{card.name}' is full-reference, but campaign '{info.name}' has items without a "
                             "reference; pick a no-reference model or add references to the manifest.")
    pixels = {label: load_image(path) for label, path in zip(files["item"], files["image"], strict=True)}
    rows = []
    for model_index, card in enumerate(cards):
        model = registry.create(card.name)
        scores = []
        for k, label in enumerate(table["item"]):
            if progress is not None:
                progress((model_index * len(table) + k) / (len(cards) * len(table)), f"{card.name} on {label}")
            reference = load_image(files["reference"].iloc[k]) if card.full_reference else None
            scores.append(model.score(pixels[label], reference).score)
        table[card.name] = scores
        human, predicted = table["human"].to_numpy(float), table[card.name].to_numpy(float)
        keep = np.ones(len(table), dtype=bool)
        if info.kind == "pairwise":
            human, predicted, keep = _centre_per_group(table["group"].to_numpy(), human, predicted)
        result = bootstrap_correlations(predicted[keep], human[keep], lower_better=card.lower_better,
                                        n_rounds=n_bootstrap, seed=seed)
        row = {"model": card.name, "n_items": int(keep.sum())}
        for metric, (value, low, high) in result.items():
            row.update({metric: value, f"{metric}_low": low, f"{metric}_high": high})
        rows.append(row)
    return ModelsVsPeople(pd.DataFrame(rows), table)


def _centre_per_group(groups: np.ndarray, human: np.ndarray, predicted: np.ndarray):
    human, predicted = human.copy(), predicted.copy()
    keep = np.zeros(len(groups), dtype=bool)
    for group in np.unique(groups):
        members = groups == group
        if members.sum() < 2:
            continue
        human[members] -= human[members].mean()
        predicted[members] -= predicted[members].mean()
        keep |= members
    return human, predicted, keep
