"""Pairwise campaigns (paper 002's user study, two-alternative forced choice): serve a pair, store a vote.

- :func:`next_pair` serves two images of one group, left/right in random order, method names hidden
  (image files are named by content hash). The pair comes from the campaign's sampler
  (:mod:`backend.store.samplers`), or with probability ``gold_rate`` is a gold pair (its better image on
  the left or the right at random, like any pair). The returned ``pair_id`` is an opaque token sealing
  items, left side and gold answer for this campaign and annotator (:mod:`backend.store.tokens`): a client
  can read nothing from it, so gold pairs cannot be told apart or answered without looking.
- :func:`vote` stores the choice (``left``, ``right``, or ``tie`` when the campaign allows it) for a served
  pair, exactly once per client vote id (:mod:`backend.store.answers`).

These two functions are the ``/next_pair`` and ``/vote`` API endpoints of the Annotate tab.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.errors import InputError, shown
from backend.store import answers, quality, samplers, tokens
from backend.store.db import Database
from backend.store.export import win_matrix
from backend.store.models import Comparison


@dataclass(frozen=True)
class ServedPair:
    pair_id: str
    left_image: str  # the image's name in the media store, ending <sha256>.png (Media.served_name)
    right_image: str
    progress: quality.Progress


def _choose(req: answers.Requester, rng: np.random.Generator) -> tuple[tuple[int, int], int | None]:
    info, db = req.campaign, req.db
    gold = quality.pick_gold(info, rng)
    if gold is not None:
        pair = (gold.item_id, gold.other_item_id)
        return (pair if rng.random() < 0.5 else pair[::-1]), gold.id

    def counts():
        # keyed by the item count too: items added to the campaign (backend.store.items) change the matrix size
        return samplers.cached_counts(db.counts_cache, (info.id, len(info.items)), lambda: win_matrix(db, info))

    return samplers.sampler(info.sampler)(info, rng, counts), None


def next_pair(campaign: str, annotator_id: str, *, hf_user: str | None = None, db: Database | None = None) -> ServedPair:
    """The next pair for this annotator (InputError when the campaign is unknown, closed or capped)."""
    req = answers.requester(campaign, annotator_id, hf_user, "pairwise", db)
    answers.check_serve_limit(req)
    progress = req.progress()
    quality.check_cap(req.campaign, progress)
    pair, gold_id = _choose(req, np.random.default_rng())
    token = tokens.issue(req.campaign.secret, req.key, "p", req.campaign.id, pair, gold_id)
    left, right = (req.campaign.items[i] for i in pair)
    media = req.db.media
    return ServedPair(token, media.served_name(left.sha256), media.served_name(right.sha256), progress)


def parse_choice(choice: object, allow_tie: bool, campaign: str) -> str:
    text = choice.strip().lower() if isinstance(choice, str) else ""
    allowed = ("left", "right", "tie") if allow_tie else ("left", "right")
    if text == "tie" and not allow_tie:
        raise InputError(f"Campaign '{campaign}' does not allow ties; choose left or right.")
    if text not in allowed:
        raise InputError(f"The choice {shown(choice)} is not valid; send {', '.join(allowed[:-1])} or {allowed[-1]}.")
    return text


def vote(campaign: str, annotator_id: str, pair_id: str, choice: str, client_vote_id: str, *,
         hf_user: str | None = None, db: Database | None = None) -> dict:
    """Store one vote on a served pair; returns ``{"status": "stored" | "duplicate", "id": ..., ...}``."""
    req = answers.requester(campaign, annotator_id, hf_user, "pairwise", db)
    served = answers.read_served(req, pair_id, "p")
    choice = parse_choice(choice, req.campaign.allow_tie, req.campaign.name)
    client_id = answers.check_client_id(client_vote_id, "client vote id")
    left, right = served.item_ids
    winner = {"left": left, "right": right, "tie": None}[choice]
    answer = dict(item_a_id=min(left, right), item_b_id=max(left, right), left_item_id=left, choice=choice,
                  winner_item_id=winner)
    return answers.store(req, Comparison, served, client_id, answer)


def answer_and_next(campaign: str, annotator_id: str, pair_id: str, choice: str, *, hf_user: str | None = None,
                    db: Database | None = None) -> tuple[dict, ServedPair | None, str]:
    """What the page's Left / Right / Tie does: vote, then serve the next pair (or say why there is none)."""
    return answers.answer_then_serve(
        lambda: vote(campaign, annotator_id, pair_id, choice, answers.client_id_for(pair_id), hf_user=hf_user, db=db),
        lambda: next_pair(campaign, annotator_id, hf_user=hf_user, db=db))
