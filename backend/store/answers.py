"""The part of answering shared by pairwise votes and ratings: validate, then store exactly once.

Order of work for an answer (nothing is written before every check has passed):
1. campaign (exists, right kind, open), annotator id (issued by this server,
   :mod:`backend.store.annotators`), served token (sealed for this campaign and annotator, age), the answer
   itself, client id, rate limits (:mod:`backend.store.limits`), response time, daily cap;
2. one INSERT, committed before the acknowledgement is returned (so an acknowledged answer survives a
   crash of the app the moment after) — through the database's group-commit writer
   (:mod:`backend.store.writer`), which commits answers arriving together in one transaction;
3. a retry with the same client id finds the stored row and gets ``status: "duplicate"`` with the same
   row id, whatever it sends as answer: the first answer wins — also when the annotator is over a rate
   limit or the daily cap by then. A second answer to the same served pair/item under a new client id is
   refused.

The annotator's row is created with the first stored answer; serving only looks it up
(:meth:`Requester.row_id`), so requests with fresh ids write nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import select

from backend.errors import InputError, RateLimitedError
from backend.store import limits, quality, tokens
from backend.store.annotators import annotator_key, annotator_row_id
from backend.store.campaigns import CampaignInfo, get_campaign
from backend.store.db import Database, default_database
from backend.store.models import utc_now

T = TypeVar("T")
CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


@dataclass(frozen=True)
class Requester:
    """A validated request: the campaign and who is asking."""

    db: Database
    campaign: CampaignInfo
    key: str
    kind: str

    def row_id(self, create: bool = False) -> int | None:
        """The annotator's row id; None when they have none yet (created only when ``create``)."""
        return annotator_row_id(self.db, self.key, self.kind, create=create)

    def progress(self) -> quality.Progress:
        annotator = self.row_id()  # before taking a connection: never hold two at once (pool exhaustion)
        if annotator is None:
            return quality.Progress(0, 0, self.campaign.daily_cap)
        with self.db.read_connection() as connection:
            return quality.progress(connection, self.campaign, annotator)


def requester(campaign: object, annotator_id: object, hf_user: str | None, kind: str,
              db: Database | None) -> Requester:
    db = db or default_database()
    info = get_campaign(campaign, db, kind=kind)
    quality.check_open(info)
    key, annotator_kind = annotator_key(annotator_id, hf_user, db)
    return Requester(db, info, key, annotator_kind)


def check_serve_limit(req: Requester) -> None:
    """The rate limits of serving a pair/item (RateLimitedError, nothing changed, when over)."""
    limits.check_serve(req.db.limits, req.campaign.id, req.key)


def _unknown(info: CampaignInfo, served: tokens.Served) -> list[int]:
    unknown = [i for i in served.item_ids if i not in info.items]
    return unknown + ([served.gold_id] if served.gold_id is not None and served.gold_id not in info.golds else [])


def read_served(req: Requester, token: object, kind: str) -> tokens.Served:
    """The verified token, whose items (and gold answer) belong to the campaign.

    The token is genuine (its MAC holds under the campaign's secret), so an item this process does not know is
    one added since it cached the campaign, through another replica: the campaign is read again (and cached)
    before the items are checked. (What the rest of the answer uses from ``req.campaign`` -- settings, gold
    answers -- never changes after creation.)
    """
    info = req.campaign
    served = tokens.read(token, kind, info.id, info.name, info.secret, req.key)
    if _unknown(info, served):
        info = get_campaign(info.name, req.db, fresh=True)
    foreign = [i for i in served.item_ids if i not in info.items]
    if foreign or (served.gold_id is not None and served.gold_id not in info.golds):
        raise InputError(f"The answer names item {foreign[0] if foreign else served.gold_id}, which is not part "
                         f"of campaign '{info.name}'; answer what the campaign served.")
    return served


def check_client_id(client_id: object, what: str) -> str:
    text = client_id.strip() if isinstance(client_id, str) else ""
    if not CLIENT_ID.match(text):
        raise InputError(f"The {what} is missing or malformed; send a fresh random id (e.g. a UUID, up to 128 "
                         "letters, digits, '_', '.', ':', '@' or '-') with each answer, and the same id when you "
                         "retry it.")
    return text


def store(req: Requester, table, served: tokens.Served, client_id: str, answer: dict) -> dict:
    """Check response time and daily cap, insert one answer row exactly once, return the acknowledgement.

    A retry of an answer that is stored already is acknowledged as ``duplicate`` even when the cap has
    been reached since (the retry of the answer that reached it must not fail).
    """
    response_ms = max(served.age_ms(), 0)
    try:
        limits.check_answer(req.db.limits, req.campaign.id, req.key)
    except RateLimitedError:  # a retry of a stored answer is still acknowledged: nothing is lost
        row = _existing(req.db, table, client_id, served.nonce)
        if row is None or req.row_id() is None:
            raise
        return _acknowledge_existing(req, row, req.row_id(), served, client_id, answer)
    quality.check_response_time(req.campaign, response_ms)
    annotator = req.row_id(create=True)
    if req.campaign.daily_cap:
        try:
            with req.db.read_connection() as connection:
                quality.check_cap(req.campaign, quality.progress(connection, req.campaign, annotator))
        except InputError:
            row = _existing(req.db, table, client_id, served.nonce)
            if row is None:
                raise
            return _acknowledge_existing(req, row, annotator, served, client_id, answer)
    values = dict(answer, campaign_id=req.campaign.id, annotator_id=annotator, gold_id=served.gold_id,
                  response_ms=response_ms, served_nonce=served.nonce, client_id=client_id, created_at=utc_now())
    row_id = req.db.writer.insert(table, values)
    if row_id is None:  # a UNIQUE constraint holds a row already: a retry, or a second answer to the pair
        row = _existing(req.db, table, client_id, served.nonce)
        if row is None:
            raise RuntimeError("an answer collided with a stored row that cannot be found")
        return _acknowledge_existing(req, row, annotator, served, client_id, answer)
    if served.gold_id is not None:
        quality.refresh_flag(req.db, req.campaign, annotator)
    return _ack("stored", row_id, req, client_id, response_ms, answer)


def _ack(status: str, row_id: int, req: Requester, client_id: str, response_ms: int, answer: dict) -> dict:
    return {"status": status, "id": row_id, "client_id": client_id, "campaign": req.campaign.name,
            "response_ms": response_ms, **{k: v for k, v in answer.items() if k in ("choice", "score")}}


def _acknowledge_existing(req: Requester, row, annotator: int, served: tokens.Served, client_id: str,
                          answer: dict) -> dict:
    """``duplicate`` when ``row`` is this very answer stored before; InputError when it is another one."""
    if row.client_id != client_id or row.annotator_id != annotator or row.served_nonce != served.nonce:
        what = "pair" if served.kind == "p" else "item"
        if row.served_nonce == served.nonce:
            raise InputError(f"This {what} was already answered (under another client id); load the next {what}.")
        raise InputError("This client id was already used for another answer; send a fresh random id with each "
                         "new answer.")
    return _ack("duplicate", row.id, req, client_id, row.response_ms, {k: getattr(row, k) for k in answer})


def _existing(db: Database, table, client_id: str, nonce: str):
    with db.read_connection() as connection:
        return (connection.execute(select(table).where(table.client_id == client_id)).first()
                or connection.execute(select(table).where(table.served_nonce == nonce)).first())


def client_id_for(token: str) -> str:
    """The client id the page uses for the answer to ``token``: fixed per served pair/item, so a double
    press or a retry of the same answer stores it once."""
    return "ui-" + hashlib.sha256(str(token).encode()).hexdigest()[:40]


def answer_then_serve(answer: Callable[[], dict], serve: Callable[[], T]) -> tuple[dict, T | None, str]:
    """Store an answer, then serve the next pair/item; when nothing more can be served (cap reached,
    all rated, campaign closed) return ``None`` and the reason instead of failing the stored answer."""
    ack = answer()
    try:
        return ack, serve(), ""
    except InputError as error:
        return ack, None, str(error)
