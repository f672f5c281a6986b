"""People's score of every item of a campaign: the one service behind the leaderboard, the HarmonyIQA
training rows of a rating campaign and PromptIQA prompts sampled from a campaign.

Answers are read without flagged annotators, gold items and answers undone on the worker page. Then, per item:

* rating campaigns (paper 000 Sec. II-C): ITU-R BT.500 subject screening (``screen``, ``rule``) and the
  z-score MOS of Eq. 1, ``MOS = 100 (z + 3) / 6`` (``backend.scaling.mos.compute_mos``); ``human`` is the
  MOS, ``n`` its number of ratings, with the t-interval ``ci_low`` .. ``ci_high``;
* pairwise campaigns (paper 002's user study): Thurstone Case V scale values of the items from their votes
  (``backend.scaling.pairwise.scale_votes``); ``human`` is the scale value, ``n`` the comparisons.

Each row also carries the item's method and group and files of its image and reference (``image``,
``reference``: the stored files of the folder media store, or local copies of images kept in the database,
:meth:`backend.store.media.Media.file`), so callers never join items and media themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backend.errors import InputError
from backend.scaling.mos import compute_mos
from backend.scaling.pairwise import scale_votes
from backend.store.campaigns import CampaignInfo, get_campaign
from backend.store.db import Database, default_database
from backend.store.export import answers_table

COLUMNS = ("item", "method", "group", "human", "ci_low", "ci_high", "n", "image", "reference")
MOS_FORMULA = "paper 000 Eq. 1: z-scores per subject, MOS = 100 (z + 3) / 6"


@dataclass
class CampaignScores:
    """The campaign, one row per scored item (``COLUMNS``), the answers they came from and a summary."""

    info: CampaignInfo
    table: pd.DataFrame
    answers: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.info.kind


def judgments(name: str, db: Database | None = None) -> tuple[CampaignInfo, pd.DataFrame, Database]:
    """The campaign, its answers (flagged annotators, gold items and undone answers excluded) and the database."""
    db = db or default_database()
    info = get_campaign(name, db, fresh=True)  # every item, also those added through another replica just now
    return info, without_undone(answers_table(name, db, include_flagged=False, include_gold=False), info, db), db


def without_undone(answers: pd.DataFrame, info: CampaignInfo, db: Database) -> pd.DataFrame:
    """``answers`` without the answers their annotators undid on the worker page (``backend.store.session``):
    those rows stay in the database and the raw export, but count in no score."""
    from backend.store.session import undone_answer_ids

    undone = undone_answer_ids(db, info)
    column = "vote_id" if info.kind == "pairwise" else "rating_id"
    if not undone or answers.empty:
        return answers
    return answers[~answers[column].isin(undone)].reset_index(drop=True)


def campaign_scores(name: str, db: Database | None = None, *, kind: str | None = None, screen: bool = True,
                    rule: str = "fraction") -> CampaignScores:
    """People's score of every ordinary item of campaign ``name`` (module docstring).

    ``kind`` (``rating`` or ``pairwise``) refuses a campaign of the other kind with a sentence saying so.
    """
    info, answers, db = judgments(name, db)
    if kind is not None and info.kind != kind:
        other = "rating" if kind == "pairwise" else "pairwise"
        need = "MOS need a rating campaign" if kind == "rating" else "scale values need pairwise votes"
        raise InputError(f"Campaign '{name}' is a {other} campaign; {need}.")
    if answers.empty:
        raise InputError(f"Campaign '{name}' has no answers yet (flagged annotators and gold answers excluded); "
                         "collect judgments first.")
    items = {item.label: item for item in info.items.values() if not item.is_gold}
    if info.kind == "rating":
        result = compute_mos(answers[["annotator", "item", "score"]], screen=screen, rule=rule)
        scored = result.table.rename(columns={"mos": "human", "n_ratings": "n"})
        summary = {"campaign": name, "ratings": result.n_ratings, "outlier_ratings_removed": result.n_outlier_ratings,
                   "rejected_subjects": result.rejected,
                   "screening": f"ITU-R BT.500 ({rule} rule)" if screen else "none", "mos": MOS_FORMULA}
    else:
        votes = answers[["annotator", "left_item", "right_item", "choice"]].rename(
            columns={"left_item": "left", "right_item": "right"})
        scored = scale_votes(votes, "thurstone").rename(columns={"score": "human", "n_comparisons": "n"})
        summary = {"campaign": name, "votes": int(len(answers)), "scale": "Thurstone Case V (MAP)"}
    scored = scored[scored["item"].isin(items) & scored["human"].notna()].reset_index(drop=True)
    media = db.media
    chosen = [items[label] for label in scored["item"]]
    table = pd.DataFrame({
        "item": scored["item"].to_numpy(),
        "method": [item.method for item in chosen],
        "group": [item.group for item in chosen],
        "human": scored["human"].to_numpy(np.float64),
        "ci_low": scored["ci_low"].to_numpy(np.float64),
        "ci_high": scored["ci_high"].to_numpy(np.float64),
        "n": scored["n"].to_numpy(int),
        "image": [str(media.file(item.sha256)) for item in chosen],
        "reference": [str(media.file(item.reference_sha256)) if item.reference_sha256 else None for item in chosen],
    }, columns=list(COLUMNS))
    summary["items"] = int(len(table))
    return CampaignScores(info, table, answers, summary)
