"""Annotator identity (issued by the server, never chosen by the caller), pseudonyms and flags.

Identity of a request:
- a person signed in with Hugging Face (on Spaces; Gradio's OAuth session verifies the login) is
  ``hf:<user name>``;
- anyone else sends an **annotator id the server issued**: ``<key>.<signature>``, where ``key`` is
  ``anon-<32 random hex digits>`` and ``signature`` the first 128 bits of HMAC-SHA256(key) (base64url)
  under a signing key derived from the deployment's root key (the setting ``HARMONYLAB_BROWSER_SECRET``,
  else a random key generated once and kept in the database, :mod:`backend.store.secrets`). The page
  keeps one per browser (``gr.BrowserState``); API clients get one from ``POST /annotate/v1/annotators``
  (or the Gradio endpoint ``/new_annotator``) and send it with every request. A made-up, edited or
  missing id is refused with :class:`backend.errors.IdentityError`, a sentence naming that endpoint.
  Verification is stateless (an HMAC), so every replica of one database accepts the ids of every other.
  Issuing ids is rate-limited (:mod:`backend.store.limits`).

The database keeps the key (the part before the signature) in ``annotators.key``; the key alone cannot
answer, but public views still show only a **pseudonym** (:func:`pseudonym`: an HMAC of the key under
the campaign's secret, so pseudonyms of one person in two campaigns cannot be linked). Exports and the
admin statistics, behind the admin password, carry the keys. Nothing else about a person is stored — no
IP address, no user agent.

Rows: an annotator's row is created with their first stored answer; serving pairs/items only reads, so
requests with fresh ids write nothing. Key -> row id lookups are cached per process in a bounded table.

Flags: a flagged annotator's answers stay in the raw data (exports carry an ``annotator_flagged``
column) and are excluded from aggregation by default (statistics, win counts for the active sampler).
Annotators are flagged by hand (CLI ``campaign flag``, admin section) or automatically when their gold
accuracy in a campaign falls below the campaign's ``gold_min_accuracy`` (see :mod:`backend.store.quality`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend import settings
from backend.errors import IdentityError, InputError
from backend.store import limits
from backend.store.db import Database, default_database
from backend.store.models import Annotator, utc_now
from backend.store.secrets import deployment_secret

HF_PREFIX = "hf:"
ROOT_SECRET_NAME = "browser-id"  # the deployment secret's name (kept from the first release)
ANONYMOUS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$")
SIGNED_ID = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.:@-]{0,99})\.([A-Za-z0-9_-]{22})$")
GET_AN_ID = ("get one from POST /annotate/v1/annotators (or the Gradio endpoint /new_annotator; the page keeps "
             "one for you) and send it unchanged with every request")


# ------------------------------------------------------------------------------------------- keys


def root_secret(db: Database) -> str:
    """The deployment's root key: the operator's setting, else generated once and kept in the database."""
    configured = settings.current().browser_secret
    cached = db.identity_root
    if cached is not None and cached[0] == configured:
        return cached[1]
    root = configured or deployment_secret(db, ROOT_SECRET_NAME)
    db.identity_root = (configured, root)
    return root


def _derived(db: Database, purpose: str) -> bytes:
    return hmac.new(root_secret(db).encode(), f"harmonylab/{purpose}".encode(), hashlib.sha256).digest()


def browser_state_key(db: Database) -> str:
    """The key of ``gr.BrowserState``'s encryption. Gradio sends it to the browser (it encrypts in
    JavaScript), so it is public: derived one-way from the root key, never the root key itself, and never
    relied on — the id kept in the browser carries its own signature."""
    return _derived(db, "browser-state (public)").hex()[:32]


def _signature(db: Database, key: str) -> str:
    digest = hmac.new(_derived(db, "annotator-id"), key.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def sign(db: Database, key: str) -> str:
    """The annotator id of ``key`` (no rate limit: for :func:`issue_annotator_id`, tools and tests)."""
    if not ANONYMOUS_ID.match(key) or key.lower().startswith(HF_PREFIX):
        raise InputError(f"{key!r} cannot be an annotator key; use 1-100 letters, digits, '_', '.', ':', '@' or '-'.")
    return f"{key}.{_signature(db, key)}"


def issue_annotator_id(db: Database | None = None) -> str:
    """A new annotator id (random key, signed); RateLimitedError when this process issues too many."""
    db = db or default_database()
    limits.check_new_identity(db.limits)
    return sign(db, f"anon-{uuid.uuid4().hex}")


def verified_key(db: Database, annotator_id: object) -> str | None:
    """The key of a genuine annotator id, else None."""
    text = annotator_id.strip() if isinstance(annotator_id, str) else ""
    match = SIGNED_ID.match(text)
    if match is None or match.group(1).lower().startswith(HF_PREFIX):
        return None
    if not hmac.compare_digest(match.group(2), _signature(db, match.group(1))):
        return None
    return match.group(1)


def annotator_key(annotator_id: object, hf_user: str | None = None, db: Database | None = None) -> tuple[str, str]:
    """``(key, kind)`` for a request: the Hugging Face login when there is one, else the issued id's key."""
    if hf_user:
        return f"{HF_PREFIX}{hf_user}", "huggingface"
    key = verified_key(db or default_database(), annotator_id)
    if key is None:
        missing = annotator_id is None or (isinstance(annotator_id, str) and not annotator_id.strip())
        given = "is missing" if missing else "was not issued by this server (made up, edited, or from another deployment)"
        raise IdentityError(f"The annotator id {given}; {GET_AN_ID}.")
    return key, "anonymous"


def pseudonym(campaign_secret: str, key: str) -> str:
    """What public views show instead of an annotator key: stable within one campaign, unlinkable across."""
    digest = hmac.new(bytes.fromhex(campaign_secret), f"pseudonym|{key}".encode(), hashlib.sha256).digest()
    return "annotator-" + base64.b32encode(digest[:5]).decode().lower()


# ------------------------------------------------------------------------------------------- rows


def annotator_row_id(db: Database, key: str, kind: str, *, create: bool = True) -> int | None:
    """The row id of annotator ``key`` (cached per process); created on first sight when ``create``,
    else None for an annotator who has no row yet."""
    cached = db.annotator_ids.get(key)
    if cached is not None:
        return cached
    lookup = select(Annotator.id).where(Annotator.key == key)
    with db.read_connection() as connection:
        found = connection.execute(lookup).scalar()
    if found is None:
        if not create:
            return None
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
    if not isinstance(key, str) or not key.strip() or len(key) > 200 or "\x00" in key:
        raise InputError("No usable annotator key was given; copy the key from an export or the statistics.")
    with db.writing() as session:
        row = session.exec(select(Annotator).where(Annotator.key == key.strip())).first()
        if row is None:
            raise InputError(f"There is no annotator '{key.strip()}'; copy the key from an export or the statistics.")
        row.flagged = flagged
        row.flag_reason = (reason or "flagged by an administrator") if flagged else None
        session.add(row)
