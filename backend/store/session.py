"""A crowd worker's annotation session (issue #22): "n of N" progress, pairs that do not repeat before every
pair was seen, skip and undo-last stored as corrections, and a campaign's completion code / redirect URL.

What the worker page (``/?campaign=NAME``, :mod:`ui.annotate`) does through this module, on top of the
services of :mod:`backend.store.pairwise` and :mod:`backend.store.rating` (which the API endpoints keep
using unchanged):

- **Session settings** (:class:`CampaignSession`, one row per campaign, optional): ``target_answers`` -- the
  answers one worker gives in a session (0: every distinct pair of the campaign once, or every image once
  for a rating campaign) -- and an optional ``completion_code`` and ``redirect_url`` shown when the session is
  finished (Prolific / MTurk hand these to their workers).
- **Progress** "n of N": ``n`` counts the worker's stored answers in the campaign that were not undone (for
  a rating campaign: the distinct images rated), ``N`` is ``target_answers`` or the campaign's natural total.
  At ``n >= N`` the session is finished and nothing more is served to the page.
- **Coverage**: with the ``uniform`` sampler a worker is served a pair they have answered least often (ties
  broken at random), so no pair returns before every pair was seen once; with an active sampler (``eig``)
  the sampler's choice is kept unless the worker answered it already, in which case it draws again (up to
  ``ACTIVE_DRAWS`` times). Gold pairs come as often as the campaign's gold rate says.
- **Skip** stores a :class:`AnswerCorrection` of kind ``skip`` naming the skipped serving (its token nonce)
  and serves the next pair/image; nothing is answered.
- **Undo** applies to the worker's most recent answer not yet undone, within ``UNDO_SECONDS`` of it: a
  correction of kind ``undo`` names that answer, which then no longer counts anywhere (leaderboard, MOS,
  progress; :func:`undone_answer_ids`) -- the answer row itself is kept, never deleted -- and the same pair
  (same sides) or image is served again under a new token.

Corrections are written once: a second undo of the same answer or a second skip of the same serving (a
double tap) finds the stored row and changes nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import CheckConstraint, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

from backend.errors import InputError
from backend.store import answers, pairwise, quality, rating, samplers, tokens
from backend.store.campaigns import CampaignInfo, get_campaign
from backend.store.db import Database, default_database
from backend.store.export import win_matrix
from backend.store.models import Comparison, Rating, utc_now

UNDO_SECONDS = 60
ACTIVE_DRAWS = 8
MAX_TARGET = 100_000
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_URL = 500


class CampaignSession(SQLModel, table=True):
    """Session settings of a campaign for the worker page (migration ``0006_answer_sessions``)."""

    __tablename__ = "campaign_sessions"

    campaign_id: int = Field(foreign_key="campaigns.id", primary_key=True)
    target_answers: int = 0  # answers per worker session; 0 = every pair (image) of the campaign once
    completion_code: str | None = Field(default=None, max_length=64)
    redirect_url: str | None = Field(default=None, max_length=MAX_URL)


class AnswerCorrection(SQLModel, table=True):
    """A skip (of a served pair/image) or an undo (of a stored answer); answers are never deleted."""

    __tablename__ = "answer_corrections"
    __table_args__ = (
        CheckConstraint("kind IN ('skip', 'undo')", name="kind"),
        UniqueConstraint("comparison_id", name="uq_answer_corrections_comparison_id"),
        UniqueConstraint("rating_id", name="uq_answer_corrections_rating_id"),
        UniqueConstraint("served_nonce", name="uq_answer_corrections_served_nonce"),
        Index("ix_answer_corrections_campaign_annotator", "campaign_id", "annotator_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    annotator_id: int = Field(foreign_key="annotators.id")
    kind: str = Field(max_length=8)
    comparison_id: int | None = Field(default=None, foreign_key="comparisons.id")  # the undone vote
    rating_id: int | None = Field(default=None, foreign_key="ratings.id")  # the undone rating
    served_nonce: str | None = Field(default=None, max_length=32)  # the skipped serving
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, default=utc_now))


# ------------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class SessionSettings:
    target_answers: int = 0
    completion_code: str | None = None
    redirect_url: str | None = None


def check_settings(target_answers: object = 0, completion_code: object = None,
                   redirect_url: object = None) -> SessionSettings:
    """Validated session settings; InputError with what to change otherwise."""
    try:
        number = float(target_answers or 0)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number.is_integer() and 0 <= number <= MAX_TARGET):
        raise InputError(f"The answers per worker must be a whole number from 0 (every pair or image once) to "
                         f"{MAX_TARGET}.")
    code = completion_code.strip() if isinstance(completion_code, str) else ""
    if code and not CODE_PATTERN.match(code):
        raise InputError("The completion code must be 1-64 letters, digits, '_' or '-' (e.g. the code Prolific "
                         "gives your study).")
    url = redirect_url.strip() if isinstance(redirect_url, str) else ""
    if url and (len(url) > MAX_URL or not re.match(r"^https://[^\s<>\"']+$", url)):
        raise InputError(f"The redirect URL must start with https:// and have at most {MAX_URL} characters without "
                         "spaces or quotes (e.g. https://app.prolific.com/submissions/complete?cc=CODE).")
    return SessionSettings(int(number), code or None, url or None)


def set_session_settings(name: str, settings: SessionSettings, db: Database | None = None) -> SessionSettings:
    """Store the session settings of campaign ``name`` (replacing earlier ones)."""
    db = db or default_database()
    info = get_campaign(name, db)
    with db.writing() as session:
        row = session.get(CampaignSession, info.id) or CampaignSession(campaign_id=info.id)
        row.target_answers, row.completion_code, row.redirect_url = (settings.target_answers,
                                                                     settings.completion_code, settings.redirect_url)
        session.add(row)
    return settings


def session_settings(info: CampaignInfo, db: Database) -> SessionSettings:
    with db.reading() as session:
        row = session.get(CampaignSession, info.id)
    if row is None:
        return SessionSettings()
    return SessionSettings(row.target_answers, row.completion_code, row.redirect_url)


# ------------------------------------------------------------------------------------------ progress


@dataclass(frozen=True)
class SessionProgress:
    answered: int
    total: int
    completion_code: str | None = None
    redirect_url: str | None = None

    @property
    def finished(self) -> bool:
        return self.answered >= self.total

    @property
    def text(self) -> str:
        return f"{min(self.answered, self.total)} of {self.total}"


def distinct_pairs(info: CampaignInfo) -> list[tuple[int, int]]:
    """Every unordered pair of ordinary items within a group (what a pairwise campaign compares)."""
    return [(ids[a], ids[b]) for ids in info.groups.values() for a in range(len(ids)) for b in range(a + 1, len(ids))]


def _undone(db: Database, info: CampaignInfo, annotator: int | None) -> set[int]:
    if annotator is None:
        return set()
    column = AnswerCorrection.comparison_id if info.kind == "pairwise" else AnswerCorrection.rating_id
    query = select(column).where(AnswerCorrection.campaign_id == info.id, AnswerCorrection.annotator_id == annotator,
                                 AnswerCorrection.kind == "undo")
    with db.reading() as session:
        return {value for value in session.exec(query).all() if value is not None}


def _my_answers(db: Database, info: CampaignInfo, annotator: int | None) -> list:
    """The worker's answers that were not undone: (id, item_a, item_b, gold_id) or (id, item, gold_id)."""
    if annotator is None:
        return []
    if info.kind == "pairwise":
        query = select(Comparison.id, Comparison.item_a_id, Comparison.item_b_id, Comparison.gold_id)
        table = Comparison
    else:
        query = select(Rating.id, Rating.item_id, Rating.gold_id)
        table = Rating
    query = query.where(table.campaign_id == info.id, table.annotator_id == annotator)
    with db.reading() as session:
        rows = session.exec(query).all()
    undone = _undone(db, info, annotator)
    return [row for row in rows if row[0] not in undone]


def _progress(req: answers.Requester, mine: list, settings: SessionSettings) -> SessionProgress:
    info = req.campaign
    if info.kind == "pairwise":
        natural = len(distinct_pairs(info))
        answered = len(mine)
    else:
        natural = len(info.ordinary_ids)
        answered = len({row[1] for row in mine if row[2] is None})
    if settings.target_answers:  # a rating session cannot ask for more images than there are
        total = min(settings.target_answers, natural) if info.kind == "rating" else settings.target_answers
    else:
        total = natural
    return SessionProgress(answered, max(total, 1), settings.completion_code, settings.redirect_url)


def progress(campaign: str, annotator_id: str, *, hf_user: str | None = None, db: Database | None = None,
             ) -> SessionProgress:
    """The worker's "n of N" in campaign ``campaign``."""
    db = db or default_database()
    info = get_campaign(campaign, db)
    req = answers.requester(campaign, annotator_id, hf_user, info.kind, db)
    return _progress(req, _my_answers(db, info, req.row_id()), session_settings(info, db))


# ------------------------------------------------------------------------------------------- serving


@dataclass(frozen=True)
class Served:
    """What the worker page shows next: a pair (pairwise) or an image (rating), or nothing when finished."""

    progress: SessionProgress
    pair: pairwise.ServedPair | None = None
    item: rating.ServedItem | None = None
    message: str = ""  # why nothing is served (finished, cap reached, closed)


def _least_answered_pair(info: CampaignInfo, mine: list, rng: np.random.Generator) -> tuple[int, int]:
    seen = Counter((row[1], row[2]) for row in mine if row[3] is None)
    pairs = distinct_pairs(info)
    counts = np.array([seen.get(pair, 0) for pair in pairs])
    candidates = np.flatnonzero(counts == counts.min())
    first, second = pairs[int(candidates[int(rng.integers(len(candidates)))])]
    return (first, second) if rng.random() < 0.5 else (second, first)


def _active_pair(req: answers.Requester, mine: list, rng: np.random.Generator) -> tuple[int, int]:
    info, db = req.campaign, req.db
    seen = Counter((row[1], row[2]) for row in mine if row[3] is None)

    def counts():
        return samplers.cached_counts(db.counts_cache, (info.id, len(info.items)), lambda: win_matrix(db, info))

    draws = [samplers.sampler(info.sampler)(info, rng, counts) for _ in range(ACTIVE_DRAWS)]
    return min(draws, key=lambda pair: seen.get((min(pair), max(pair)), 0))


def _serve_pair(req: answers.Requester, mine: list, progress_now: SessionProgress,
                pair: tuple[int, int] | None = None, gold_id: int | None = None) -> Served:
    info = req.campaign
    rng = np.random.default_rng()
    if pair is None:
        gold = quality.pick_gold(info, rng)
        if gold is not None:
            pair, gold_id = (gold.item_id, gold.other_item_id), gold.id
            pair = pair if rng.random() < 0.5 else pair[::-1]
        elif info.sampler == "uniform":
            pair = _least_answered_pair(info, mine, rng)
        else:
            pair = _active_pair(req, mine, rng)
    token = tokens.issue(info.secret, req.key, "p", info.id, pair, gold_id)
    left, right = (info.items[i] for i in pair)
    served = pairwise.ServedPair(token, req.db.media.file(left.sha256), req.db.media.file(right.sha256),
                                 req.progress())
    return Served(progress_now, pair=served)


def _serve_item(req: answers.Requester, mine: list, progress_now: SessionProgress, item_id: int | None = None,
                gold_id: int | None = None) -> Served:
    info = req.campaign
    rng = np.random.default_rng()
    if item_id is None:
        gold = quality.pick_gold(info, rng)
        if gold is not None:
            item_id, gold_id = gold.item_id, gold.id
        else:
            rated = {row[1] for row in mine}
            candidates = [i for i in info.ordinary_ids if i not in rated]
            if not candidates:
                return Served(progress_now, message=f"You have rated every image of campaign '{info.name}'.")
            item_id = candidates[int(rng.integers(len(candidates)))]
    item = info.items[item_id]
    media = req.db.media
    token = tokens.issue(info.secret, req.key, "r", info.id, (item_id,), gold_id)
    served = rating.ServedItem(token, media.file(item.sha256),
                               media.file(item.composite_sha256) if item.composite_sha256 else None,
                               media.file(item.reference_sha256) if item.reference_sha256 else None, req.progress())
    return Served(progress_now, item=served)


def _requester(campaign: str, annotator_id: str, hf_user: str | None, db: Database | None) -> answers.Requester:
    db = db or default_database()
    info = get_campaign(campaign, db)
    return answers.requester(campaign, annotator_id, hf_user, info.kind, db)


def serve_next(campaign: str, annotator_id: str, *, hf_user: str | None = None, db: Database | None = None) -> Served:
    """The next pair or image of the worker's session, or nothing (with the reason) when it is finished."""
    req = _requester(campaign, annotator_id, hf_user, db)
    mine = _my_answers(req.db, req.campaign, req.row_id())
    now = _progress(req, mine, session_settings(req.campaign, req.db))
    if now.finished:
        return Served(now, message="finished")
    try:
        answers.check_serve_limit(req)
        quality.check_cap(req.campaign, req.progress())
    except InputError as error:  # the daily cap: the page says so instead of failing
        return Served(now, message=str(error))
    if req.campaign.kind == "pairwise":
        return _serve_pair(req, mine, now)
    return _serve_item(req, mine, now)


def answer_and_next(campaign: str, annotator_id: str, token: str, answer: object, *, hf_user: str | None = None,
                    db: Database | None = None) -> tuple[dict, Served]:
    """Store the worker's answer (``left``/``right``/``tie`` or a score 1-5) for ``token``, then serve the next."""
    db = db or default_database()
    info = get_campaign(campaign, db)
    client_id = answers.client_id_for(token)
    if info.kind == "pairwise":
        ack = pairwise.vote(campaign, annotator_id, token, answer, client_id, hf_user=hf_user, db=db)
    else:
        ack = rating.rate(campaign, annotator_id, token, answer, client_id, hf_user=hf_user, db=db)
    return ack, serve_next(campaign, annotator_id, hf_user=hf_user, db=db)


# ---------------------------------------------------------------------------------------- corrections


def _insert_correction(db: Database, values: dict) -> bool:
    """Insert one correction; False when an equal one is stored already (a double tap)."""
    try:
        with db.writing() as session:
            session.add(AnswerCorrection(**values, created_at=utc_now()))
        return True
    except IntegrityError:
        return False


def skip(campaign: str, annotator_id: str, token: str, *, hf_user: str | None = None,
         db: Database | None = None) -> Served:
    """Skip the served pair/image ``token`` (stored as a correction) and serve the next one."""
    req = _requester(campaign, annotator_id, hf_user, db)
    kind = "p" if req.campaign.kind == "pairwise" else "r"
    served = answers.read_served(req, token, kind)
    _insert_correction(req.db, dict(campaign_id=req.campaign.id, annotator_id=req.row_id(create=True), kind="skip",
                                    served_nonce=served.nonce))
    return serve_next(campaign, annotator_id, hf_user=hf_user, db=req.db)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def undo_last(campaign: str, annotator_id: str, *, hf_user: str | None = None, db: Database | None = None) -> Served:
    """Undo the worker's latest answer (within ``UNDO_SECONDS``) and serve the same pair/image again."""
    req = _requester(campaign, annotator_id, hf_user, db)
    info, db = req.campaign, req.db
    annotator = req.row_id()
    pairwise_kind = info.kind == "pairwise"
    table = Comparison if pairwise_kind else Rating
    undone = _undone(db, info, annotator)
    latest = None
    if annotator is not None:
        query = (select(table).where(table.campaign_id == info.id, table.annotator_id == annotator)
                 .order_by(table.id.desc()).limit(len(undone) + 1))
        with db.reading() as session:
            latest = next((row for row in session.exec(query).all() if row.id not in undone), None)
    if latest is None:
        raise InputError("There is no answer to undo yet.")
    if utc_now() - _aware(latest.created_at) > timedelta(seconds=UNDO_SECONDS):
        raise InputError(f"Your last answer was given more than {UNDO_SECONDS} s ago; only a fresh answer can be "
                         "undone.")
    column = "comparison_id" if pairwise_kind else "rating_id"
    _insert_correction(db, dict(campaign_id=info.id, annotator_id=annotator, kind="undo", **{column: latest.id}))
    mine = _my_answers(db, info, annotator)
    now = _progress(req, mine, session_settings(info, db))
    if pairwise_kind:
        right = latest.item_a_id + latest.item_b_id - latest.left_item_id
        return _serve_pair(req, mine, now, (latest.left_item_id, right), latest.gold_id)
    return _serve_item(req, mine, now, latest.item_id, latest.gold_id)


def undone_answer_ids(db: Database, info: CampaignInfo) -> set[int]:
    """Ids of the campaign's answers (votes or ratings) that were undone: aggregation leaves them out."""
    column = AnswerCorrection.comparison_id if info.kind == "pairwise" else AnswerCorrection.rating_id
    query = select(column).where(AnswerCorrection.campaign_id == info.id, AnswerCorrection.kind == "undo")
    with db.reading() as session:
        return {value for value in session.exec(query).all() if value is not None}
