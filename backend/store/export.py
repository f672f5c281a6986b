"""Raw answers as tables and files (CSV / Parquet), counts for ``campaign stats``, and win matrices.

Raw tables keep every answer, including those of flagged annotators and gold answers, with columns
saying which is which (``annotator_flagged``, ``gold``, ``gold_correct``). Their first columns match the
scaling commands: a pairwise export starts ``annotator,left,right,choice`` with the *method* labels as
``left``/``right`` (per-method Bradley–Terry / Thurstone scores as in paper 002: ``python -m backend
scale --votes export.csv`` after dropping gold and flagged rows), and a rating export starts
``annotator,item,score`` with ``item = group/method`` (per-image MOS as in paper 000: ``python -m backend
mos --ratings export.csv``). Aggregates (:func:`campaign_stats`, :func:`win_matrix`) exclude flagged
annotators and gold answers by default.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import select

from backend.errors import InputError
from backend.store.campaigns import CampaignInfo, get_campaign
from backend.store.db import Database, default_database
from backend.store.models import Annotator, Comparison, Rating

FORMATS = (".csv", ".parquet")


def _rows(db: Database, table, columns: list, info: CampaignInfo) -> pd.DataFrame:
    query = (select(Annotator.key, Annotator.kind, Annotator.flagged, *columns)
             .join(Annotator, table.annotator_id == Annotator.id)
             .where(table.campaign_id == info.id).order_by(table.id))
    names = ["annotator", "annotator_kind", "annotator_flagged"] + [c.key for c in columns]
    with db.reading() as session:
        return pd.DataFrame(session.exec(query).all(), columns=names)


def _utc(times: pd.Series) -> pd.Series:
    """Timestamps as UTC-aware values (SQLite returns them naive, PostgreSQL aware; both are UTC)."""
    return pd.to_datetime(times, utc=True)


def _gold_correct(info: CampaignInfo, gold_ids: pd.Series, answers: pd.Series) -> pd.Series:
    def correct(gold_id, answer):
        if pd.isna(gold_id):
            return pd.NA
        gold = info.golds[int(gold_id)]
        if info.kind == "pairwise":
            return bool(answer == gold.item_id)
        return bool(gold.min_score <= answer <= gold.max_score)

    return pd.Series([correct(g, a) for g, a in zip(gold_ids, answers, strict=True)], index=gold_ids.index, dtype="boolean")


def comparisons_table(info: CampaignInfo, db: Database) -> pd.DataFrame:
    c = Comparison
    raw = _rows(db, c, [c.id, c.left_item_id, c.item_a_id, c.item_b_id, c.choice, c.winner_item_id, c.gold_id,
                        c.response_ms, c.created_at, c.client_id], info)
    items = info.items
    right = raw["item_a_id"] + raw["item_b_id"] - raw["left_item_id"]

    def method(ids: pd.Series) -> pd.Series:
        return ids.map(lambda i: items[int(i)].method if pd.notna(i) else None)

    def label(ids: pd.Series) -> pd.Series:
        return ids.map(lambda i: items[int(i)].label)

    return pd.DataFrame({
        "annotator": raw["annotator"], "left": method(raw["left_item_id"]), "right": method(right),
        "choice": raw["choice"], "group": raw["left_item_id"].map(lambda i: items[int(i)].group),
        "left_item": label(raw["left_item_id"]), "right_item": label(right),
        "winner": method(raw["winner_item_id"].astype("Int64")),
        "gold": raw["gold_id"].notna(), "gold_correct": _gold_correct(info, raw["gold_id"], raw["winner_item_id"]),
        "annotator_kind": raw["annotator_kind"], "annotator_flagged": raw["annotator_flagged"].astype(bool),
        "response_ms": raw["response_ms"], "created_at": _utc(raw["created_at"]), "client_vote_id": raw["client_id"],
        "vote_id": raw["id"],
        "left_sha256": raw["left_item_id"].map(lambda i: items[int(i)].sha256),
        "right_sha256": right.map(lambda i: items[int(i)].sha256),
    })


def ratings_table(info: CampaignInfo, db: Database) -> pd.DataFrame:
    r = Rating
    raw = _rows(db, r, [r.id, r.item_id, r.score, r.gold_id, r.response_ms, r.created_at, r.client_id], info)
    item = raw["item_id"].map(lambda i: info.items[int(i)])
    return pd.DataFrame({
        "annotator": raw["annotator"], "item": item.map(lambda i: i.label), "score": raw["score"],
        "group": item.map(lambda i: i.group), "method": item.map(lambda i: i.method),
        "gold": raw["gold_id"].notna(), "gold_correct": _gold_correct(info, raw["gold_id"], raw["score"]),
        "annotator_kind": raw["annotator_kind"], "annotator_flagged": raw["annotator_flagged"].astype(bool),
        "response_ms": raw["response_ms"], "created_at": _utc(raw["created_at"]), "client_rating_id": raw["client_id"],
        "rating_id": raw["id"], "image_sha256": item.map(lambda i: i.sha256),
        "source_path": item.map(lambda i: i.source_path),
    })


def answers_table(name: str, db: Database | None = None, *, include_flagged: bool = True,
                  include_gold: bool = True) -> pd.DataFrame:
    """Every answer of campaign ``name`` (votes or ratings), one row each."""
    db = db or default_database()
    info = get_campaign(name, db, fresh=True)  # every item, also those added through another replica just now
    table = (comparisons_table if info.kind == "pairwise" else ratings_table)(info, db)
    if not include_flagged:
        table = table[~table["annotator_flagged"]]
    if not include_gold:
        table = table[~table["gold"]]
    return table.reset_index(drop=True)


def export_campaign(name: str, out: Path | str, db: Database | None = None, *, include_flagged: bool = True,
                    include_gold: bool = True) -> int:
    """Write the answers of campaign ``name`` to ``out`` (.csv or .parquet); return the number of rows."""
    target = Path(out)
    if target.suffix.lower() not in FORMATS:
        raise InputError(f"Cannot export to '{target.name}'; give a file name ending in .csv or .parquet.")
    table = answers_table(name, db, include_flagged=include_flagged, include_gold=include_gold)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    if target.suffix.lower() == ".csv":
        table.to_csv(partial, index=False)
    else:
        table.to_parquet(partial, index=False)
    os.replace(partial, target)
    return len(table)


def win_matrix(db: Database, info: CampaignInfo, include_flagged: bool = False) -> np.ndarray:
    """Wins among the campaign's ordinary items (order ``info.ordinary_ids``), ties as halves, no gold."""
    ids = info.ordinary_ids
    index = {item: k for k, item in enumerate(ids)}
    c = Comparison
    query = (select(c.item_a_id, c.item_b_id, c.winner_item_id, func.count())
             .join(Annotator, c.annotator_id == Annotator.id)
             .where(c.campaign_id == info.id, c.gold_id.is_(None))
             .group_by(c.item_a_id, c.item_b_id, c.winner_item_id))
    if not include_flagged:
        query = query.where(Annotator.flagged.is_(False))
    counts = np.zeros((len(ids), len(ids)))
    with db.reading() as session:
        for a, b, winner, n in session.exec(query).all():
            i, j = index[a], index[b]
            if winner is None:
                counts[i, j] += n / 2
                counts[j, i] += n / 2
            elif winner == a:
                counts[i, j] += n
            else:
                counts[j, i] += n
    return counts


def campaign_stats(name: str, db: Database | None = None) -> dict:
    """Counts describing campaign ``name`` (what ``python -m backend campaign stats`` prints as JSON)."""
    db = db or default_database()
    info = get_campaign(name, db, fresh=True)
    table = answers_table(name, db)
    ordinary = [i for i in info.items.values() if not i.is_gold]
    aggregated = table[~table["annotator_flagged"] & ~table["gold"]]
    gold = table[table["gold"]]
    stats = {
        "campaign": info.name, "kind": info.kind, "open": info.is_open, "sampler": info.sampler,
        "items": len(ordinary), "groups": len(info.groups),
        "methods": {m: sum(1 for i in ordinary if i.method == m) for m in sorted({i.method for i in ordinary})},
        "gold_answers_defined": len(info.golds),
        "answers": len(table), "answers_aggregated": len(aggregated),
        "annotators": int(table["annotator"].nunique()),
        "flagged_annotators": int(table.loc[table["annotator_flagged"], "annotator"].nunique()),
        "gold_answered": len(gold), "gold_correct": int(gold["gold_correct"].sum()),
    }
    if info.kind == "pairwise":
        stats["choices"] = {c: int((aggregated["choice"] == c).sum()) for c in ("left", "right", "tie")}
        stats["wins_by_method"] = {m: int((aggregated["winner"] == m).sum()) for m in stats["methods"]}
    else:
        stats["scores"] = {str(s): int((aggregated["score"] == s).sum()) for s in range(1, 6)}
        stats["ratings_by_method"] = {m: int((aggregated["method"] == m).sum()) for m in stats["methods"]}
    return stats
