"""Annotator identity and flags.

Identity: a person logged in with Hugging Face (on Spaces) is ``hf:<user name>``; anyone else is the
anonymous id their browser keeps (``gr.BrowserState``; API clients send their own). Anonymous ids are
1-100 characters of letters, digits and ``_ . : @ -``; the prefix ``hf:`` is reserved for verified
logins. Nothing else about a person is stored — no IP address, no user agent.

Flags: a flagged annotator's answers stay in the raw data (exports carry an ``annotator_flagged``
column) and are excluded from aggregation by default (statistics, win counts for the active sampler).
Annotators are flagged by hand (CLI ``campaign flag``, admin section) or automatically when their gold
accuracy in a campaign falls below the campaign's ``gold_min_accuracy`` (see :mod:`backend.store.quality`).
"""

from __future__ import annotations

import re

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.errors import InputError
from backend.store.db import Database, default_database
from backend.store.models import Annotator, utc_now

HF_PREFIX = "hf:"
ANONYMOUS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$")


def annotator_key(annotator_id: object, hf_user: str | None = None) -> tuple[str, str]:
    """``(key, kind)`` for a request: the Hugging Face login when there is one, else the anonymous id."""
    if hf_user:
        return f"{HF_PREFIX}{hf_user}", "huggingface"
    text = annotator_id.strip() if isinstance(annotator_id, str) else ""
    if not ANONYMOUS_ID.match(text):
        raise InputError("The annotator id is missing or malformed; send 1-100 letters, digits, '_', '.', ':', '@' "
                         "or '-' (the page keeps one for you; API clients pick a random id and reuse it).")
    if text.lower().startswith(HF_PREFIX):
        raise InputError("Annotator ids starting with 'hf:' are reserved for Hugging Face logins; use another id.")
    return text, "anonymous"


def annotator_row_id(db: Database, key: str, kind: str) -> int:
    """The row id of annotator ``key``, created on first sight (cached per process)."""
    cached = db.annotator_ids.get(key)
    if cached is not None:
        return cached
    lookup = select(Annotator.id).where(Annotator.key == key)
    with db.read_connection() as connection:
        found = connection.execute(lookup).scalar()
    if found is None:
        try:
            with db.write_connection() as connection:
                found = connection.execute(insert(Annotator).values(key=key, kind=kind, flagged=False,
                                                                    created_at=utc_now()).returning(Annotator.id)).scalar_one()
        except IntegrityError:  # created concurrently by another request or process
            with db.read_connection() as connection:
                found = connection.execute(lookup).scalar_one()
    db.annotator_ids[key] = found
    return found


def set_flag(key: str, flagged: bool = True, reason: str | None = None, db: Database | None = None) -> None:
    """Flag (or unflag) annotator ``key``."""
    db = db or default_database()
    with db.writing() as session:
        row = session.exec(select(Annotator).where(Annotator.key == key)).first()
        if row is None:
            raise InputError(f"There is no annotator '{key}'; copy the key from an export or the statistics.")
        row.flagged = flagged
        row.flag_reason = (reason or "flagged by an administrator") if flagged else None
        session.add(row)
