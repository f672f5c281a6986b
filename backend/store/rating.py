"""Rating campaigns (paper 000's subjective study, Sec. II-B and Fig. 2b): serve an image, store a 1-5 score.

- :func:`next_item` serves one image the annotator has not rated yet (uniformly among those), with its
  composite and reference when the manifest gave them — the three images participants saw in paper
  000 — or, with probability ``gold_rate``, a gold item. Each annotator rates each image at most once,
  as in the paper's protocol. The returned ``item_id`` is an opaque token (:mod:`backend.store.tokens`): it
  does not say which image or whether it is gold.
- :func:`rate` stores a score from 1 to 5 (one overall score judging harmonization effect, content
  authenticity and foreground detail preservation), exactly once per client rating id.

These are the ``/next_item`` and ``/rate`` API endpoints of the Annotate tab.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlmodel import select

from backend.errors import InputError, shown
from backend.store import answers, quality, tokens
from backend.store.db import Database
from backend.store.models import Rating

CRITERIA = ("harmonization effect", "content authenticity", "foreground detail preservation")
SCALE = {1: "Bad", 2: "Poor", 3: "Fair", 4: "Good", 5: "Excellent"}


@dataclass(frozen=True)
class ServedItem:
    item_id: str
    image: str  # names in the media store, ending <sha256>.png (Media.served_name)
    composite: str | None
    reference: str | None
    progress: quality.Progress


def _unrated(req: answers.Requester) -> list[int]:
    annotator = req.row_id()
    rated: set[int] = set()
    if annotator is not None:  # an annotator without a row has rated nothing
        query = select(Rating.item_id).where(Rating.campaign_id == req.campaign.id, Rating.annotator_id == annotator)
        with req.db.read_connection() as connection:
            rated = set(connection.execute(query).scalars())
    return [i for i in req.campaign.ordinary_ids if i not in rated]


def next_item(campaign: str, annotator_id: str, *, hf_user: str | None = None, db: Database | None = None) -> ServedItem:
    """The next image for this annotator to rate (InputError when unknown, closed, capped or all rated)."""
    req = answers.requester(campaign, annotator_id, hf_user, "rating", db)
    answers.check_serve_limit(req)
    progress = req.progress()
    quality.check_cap(req.campaign, progress)
    rng = np.random.default_rng()
    gold = quality.pick_gold(req.campaign, rng)
    if gold is not None:
        item_id = gold.item_id
    else:
        candidates = _unrated(req)
        if not candidates:
            raise InputError(f"You have rated every image of campaign '{req.campaign.name}'; thank you!")
        item_id = candidates[int(rng.integers(len(candidates)))]
    item = req.campaign.items[item_id]
    media = req.db.media
    token = tokens.issue(req.campaign.secret, req.key, "r", req.campaign.id, (item_id,), gold.id if gold else None)
    return ServedItem(token, media.served_name(item.sha256),
                      media.served_name(item.composite_sha256) if item.composite_sha256 else None,
                      media.served_name(item.reference_sha256) if item.reference_sha256 else None, progress)


def parse_score(score: object) -> int:
    """A score from 1 to 5 (a whole number, also as text or as 4.0); compared before any conversion, so a
    huge or non-finite number is refused like any other."""
    value = None
    if isinstance(score, str) and score.strip() in ("1", "2", "3", "4", "5"):
        value = int(score.strip())
    elif isinstance(score, (int, np.integer)) and not isinstance(score, bool) and 1 <= score <= 5:
        value = int(score)
    elif isinstance(score, (float, np.floating)) and 1 <= score <= 5 and float(score).is_integer():
        value = int(score)
    if value not in SCALE:
        raise InputError(f"The rating {shown(score)} is not valid; send a whole number from 1 (bad) to 5 (excellent).")
    return value


def rate(campaign: str, annotator_id: str, item_id: str, score: object, client_rating_id: str, *,
         hf_user: str | None = None, db: Database | None = None) -> dict:
    """Store one rating of a served item; returns ``{"status": "stored" | "duplicate", "id": ..., ...}``."""
    req = answers.requester(campaign, annotator_id, hf_user, "rating", db)
    served = answers.read_served(req, item_id, "r")
    value = parse_score(score)
    client_id = answers.check_client_id(client_rating_id, "client rating id")
    return answers.store(req, Rating, served, client_id, dict(item_id=served.item_ids[0], score=value))


def answer_and_next(campaign: str, annotator_id: str, item_id: str, score: object, *, hf_user: str | None = None,
                    db: Database | None = None) -> tuple[dict, ServedItem | None, str]:
    """What the page's score buttons do: rate, then serve the next image (or say why there is none)."""
    return answers.answer_then_serve(
        lambda: rate(campaign, annotator_id, item_id, score, answers.client_id_for(item_id), hf_user=hf_user, db=db),
        lambda: next_item(campaign, annotator_id, hf_user=hf_user, db=db))
