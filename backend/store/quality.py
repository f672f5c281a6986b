"""Quality control: gold answers, per-annotator gold accuracy, daily caps and a minimum response time.

- Gold: with probability ``gold_rate`` a request is served a gold pair/item (a known answer) instead of
  an ordinary one; the answer is stored like any other, with ``gold_id`` set. Gold answers never enter
  aggregation (win counts, statistics by method).
- Gold accuracy: the fraction of an annotator's gold answers that are right (pairwise: the ``better``
  image chosen — a tie is wrong; rating: the score within ``[min_score, max_score]``). After
  ``MIN_GOLD_ANSWERS`` gold answers, an annotator whose accuracy is below the campaign's
  ``gold_min_accuracy`` is flagged automatically (never unflagged automatically).
- Daily cap: at most ``daily_cap`` answers per annotator and campaign in any 24 hours (checked when a
  pair/item is served and when an answer arrives; concurrent requests of one annotator may overshoot
  by the number in flight).
- Minimum response time: an answer that arrives sooner than ``min_response_ms`` after its pair/item was
  served is refused (nothing stored); the annotator can look again and answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlalchemy import and_, case, func
from sqlalchemy.engine import Connection
from sqlmodel import select

from backend.errors import InputError
from backend.store.campaigns import CampaignInfo, GoldInfo
from backend.store.db import Database
from backend.store.models import Annotator, Comparison, GoldAnswer, Rating, utc_now

MIN_GOLD_ANSWERS = 5
WINDOW = timedelta(hours=24)


def answer_table(info: CampaignInfo):
    return Comparison if info.kind == "pairwise" else Rating


@dataclass(frozen=True)
class Progress:
    total: int
    last_24h: int
    cap: int

    @property
    def text(self) -> str:
        today = f"{self.last_24h} of {self.cap} in the last 24 h" if self.cap else f"{self.last_24h} in the last 24 h"
        return f"**{self.total}** answered in this campaign ({today})."


def progress(connection: Connection, info: CampaignInfo, annotator_id: int) -> Progress:
    table = answer_table(info)
    since = utc_now() - WINDOW
    total, recent = connection.execute(
        select(func.count(), func.count().filter(table.created_at >= since))
        .where(table.campaign_id == info.id, table.annotator_id == annotator_id)
    ).one()
    return Progress(int(total), int(recent or 0), info.daily_cap)


def check_cap(info: CampaignInfo, current: Progress) -> None:
    if info.daily_cap and current.last_24h >= info.daily_cap:
        raise InputError(f"You have given {current.last_24h} answers in the last 24 hours, the daily cap of campaign "
                         f"'{info.name}'; thank you — come back tomorrow.")


def check_open(info: CampaignInfo) -> None:
    if not info.is_open:
        raise InputError(f"Campaign '{info.name}' is closed; choose another campaign.")


def check_response_time(info: CampaignInfo, response_ms: int) -> None:
    if response_ms < info.min_response_ms:
        raise InputError(f"You answered in {response_ms / 1000:.1f} s, faster than the {info.min_response_ms / 1000:.1f} s "
                         "this campaign asks for; look at the images again, then answer.")


def pick_gold(info: CampaignInfo, rng: np.random.Generator) -> GoldInfo | None:
    if not info.golds or info.gold_rate <= 0 or rng.random() >= info.gold_rate:
        return None
    golds = list(info.golds.values())
    return golds[int(rng.integers(len(golds)))]


def _correct(info: CampaignInfo):
    if info.kind == "pairwise":
        return case((Comparison.winner_item_id == GoldAnswer.item_id, 1), else_=0)
    return case((and_(Rating.score >= GoldAnswer.min_score, Rating.score <= GoldAnswer.max_score), 1), else_=0)


def gold_accuracy(db: Database, info: CampaignInfo, annotator_id: int | None = None) -> dict[str, tuple[int, int]]:
    """``annotator key -> (gold answers, correct ones)`` in campaign ``info``."""
    table = answer_table(info)
    query = (select(Annotator.key, func.count(), func.sum(_correct(info)))
             .select_from(table)
             .join(GoldAnswer, table.gold_id == GoldAnswer.id)
             .join(Annotator, table.annotator_id == Annotator.id)
             .where(table.campaign_id == info.id)
             .group_by(Annotator.key))
    if annotator_id is not None:
        query = query.where(table.annotator_id == annotator_id)
    with db.reading() as session:
        return {key: (int(n), int(right or 0)) for key, n, right in session.exec(query).all()}


def refresh_flag(db: Database, info: CampaignInfo, annotator_id: int) -> None:
    """Flag the annotator when their gold accuracy in ``info`` is below the campaign's threshold."""
    if info.gold_min_accuracy <= 0:
        return
    for answered, right in gold_accuracy(db, info, annotator_id).values():
        if answered >= MIN_GOLD_ANSWERS and right / answered < info.gold_min_accuracy:
            with db.writing() as session:
                row = session.get(Annotator, annotator_id)
                if not row.flagged:
                    row.flagged = True
                    row.flag_reason = (f"gold accuracy {right}/{answered} in campaign '{info.name}' is below "
                                       f"{info.gold_min_accuracy:.0%}")
                    session.add(row)
