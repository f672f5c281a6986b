"""Leaderboard service: scores from a campaign's judgments, and IQA models benchmarked against people.

Pairwise campaigns (paper 002's user study): methods are scaled from the 2AFC votes with Bradley–Terry or
Thurstone Case V (``backend.scaling.pairwise``), with bootstrap CIs over annotators. Rating campaigns
(paper 000 Sec. II): per-image MOS after BT.500 subject screening (``backend.scaling.mos``), and each
method's mean MOS with a t-interval over its images. Flagged annotators and gold answers are excluded.

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from backend import registry
from backend.campaign_scores import campaign_scores, judgments
from backend.errors import InputError, shown
from backend.images import load_image
from backend.scaling.correlation import bootstrap_correlations
from backend.scaling.pairwise import scale_votes
from backend.store import quality
from backend.store.annotators import pseudonym
from backend.store.campaigns import get_campaign
from backend.store.db import default_database
from backend.store.export import answers_table

PAIRWISE_MODELS = ("bt", "thurstone")
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


def method_ranking(name: str, model: str = "bt", n_bootstrap: int = 200, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None, db=None) -> pd.DataFrame:
    """Methods ranked with CIs: ``rank, method, score, ci_low, ci_high, n`` (votes or rated images).

    ``progress(done, total)`` is called after each bootstrap round.
    """
    n_bootstrap = bootstrap_rounds(n_bootstrap)
    info, answers, _ = judgments(name, db)
    if answers.empty:
        raise InputError(f"Campaign '{name}' has no answers yet (flagged annotators and gold answers excluded).")
    if info.kind == "pairwise":
        if model not in PAIRWISE_MODELS:
            raise InputError(f"Unknown scaling model '{model}'; choose one of {', '.join(PAIRWISE_MODELS)}.")
        votes = answers[["annotator", "left", "right", "choice"]]
        table = scale_votes(votes, "thurstone" if model == "thurstone" else "bt", n_bootstrap=n_bootstrap,
                            seed=seed, progress=progress)
        table = table.rename(columns={"item": "method", "n_comparisons": "n"})
        return _with_ranks(table[["method", "score", "ci_low", "ci_high", "n"]])
    per_image = image_mos(name, db=db)
    rows = []
    for method, group in per_image.groupby("method"):
        values = group["mos"].to_numpy()
        mean = float(values.mean())
        half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan
        rows.append({"method": method, "score": mean, "ci_low": mean - half, "ci_high": mean + half, "n": len(values)})
    return _with_ranks(pd.DataFrame(rows))


def image_mos(name: str, db=None) -> pd.DataFrame:
    """Per-image MOS of a rating campaign (paper 000 Eq. 1 after BT.500 screening): item, mos, ci_low,
    ci_high, n_ratings, method."""
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
