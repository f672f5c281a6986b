"""Saved PromptIQA prompts (paper 004 Sec. 3.2 A): named image-score-pair prompts kept in the store.

A prompt is saved under a name (the campaign-name rules: 1-100 letters, digits, '.', '_' or '-'); its
images go to the content-addressed media store (:mod:`backend.store.media`, so what is saved is exactly
the decoded RGB the model saw) and its scores -- in the user's own scale -- and display labels are kept
in order as JSON in the ``saved_prompts`` table (migration ``0002_saved_prompts``). The scores are
validated like any prompt (at least 2 pairs, finite, not all equal, one per image).

Owners (issue #20; migration ``0004_prompt_owner``). A prompt saved from the page belongs to whoever saved
it: ``owner`` is ``browser:<id>`` -- an id the server issued and signed (:func:`new_owner_token`; the page
keeps the token in the browser, API callers pass it back) -- or ``hf:<user>``, the Hugging Face login on
Spaces. Only the owner, or the admin (``HARMONYLAB_ADMIN_PASSWORD``, checked by the caller, which passes
``admin=True``), may replace or delete it. The command line is the operator (``owner=None``): it may replace
or delete any prompt, and what it saves has no owner, so on the page only the admin can change it.

Bounds on what visitors store (``owner`` given; settings, see the README): pairs per prompt
(``HARMONYLAB_PROMPT_MAX_PAIRS``), stored PNG bytes per prompt (``HARMONYLAB_PROMPT_MAX_BYTES``), prompts
per owner (``HARMONYLAB_PROMPTS_PER_OWNER``) and all visitors' prompts together
(``HARMONYLAB_PROMPT_STORAGE``). Images are staged and enter the media store only once the save is
accepted. When a prompt is replaced or deleted, its images that no other prompt and no campaign item uses
are removed from the media store, so replacing a prompt does not grow the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlmodel import select

from backend import settings
from backend.errors import InputError
from backend.images import load_image
from backend.protocols import Prompt, check_scores
from backend.store.campaigns import NAME_PATTERN
from backend.store.db import Database, default_database
from backend.store.media import MissingImageError
from backend.store.models import Item, SavedPrompt, utc_now
from backend.store.secrets import deployment_secret

OWNER_KEY_NAME = "prompt-owner"  # the deployment secret (table deployment_secrets) that signs owner tokens
_TOKEN = re.compile(r"^po1\.([0-9a-f]{32})\.([A-Za-z0-9_-]{22})$")
_owner_keys: dict[str, str] = {}


# ------------------------------------------------------------------------------------------ owners


def _owner_key(db: Database) -> str:
    key = _owner_keys.get(db.url)
    if key is None:
        key = _owner_keys[db.url] = deployment_secret(db, OWNER_KEY_NAME)
    return key


def _signature(key: str, ident: str) -> str:
    digest = hmac.new(bytes.fromhex(key), f"prompt-owner|{ident}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def new_owner_token(db: Database | None = None) -> str:
    """A new anonymous owner identity, signed by the server: ``po1.<32 hex>.<signature>``."""
    db = db or default_database()
    ident = secrets.token_hex(16)
    return f"po1.{ident}.{_signature(_owner_key(db), ident)}"


def owner_from_token(token: object, db: Database | None = None) -> str | None:
    """The owner (``browser:<id>``) a token this server issued names; None for a missing, made-up or altered one."""
    found = _TOKEN.match(token) if isinstance(token, str) else None
    if found is None:
        return None
    db = db or default_database()
    ident, signature = found.groups()
    return f"browser:{ident}" if hmac.compare_digest(signature, _signature(_owner_key(db), ident)) else None


def _may_change(row: SavedPrompt, owner: str | None, admin: bool) -> bool:
    return owner is None or admin or (row.owner is not None and row.owner == owner)


def _refuse_change(row: SavedPrompt, action: str) -> InputError:
    return InputError(f"The prompt '{row.name}' belongs to someone else, so you cannot {action} it; save yours "
                      "under another name (the admin password allows changing any prompt).")


# ------------------------------------------------------------------------------------------ saving


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name.strip()):
        raise InputError(f"Prompt name {str(name)[:40]!r} is not usable; use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit.")
    return name.strip()


def _row(session, name: str) -> SavedPrompt | None:
    return session.exec(select(SavedPrompt).where(SavedPrompt.name == name)).first()


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.0f} kB"


def _check_room(session, config: settings.Settings, owner: str) -> None:
    count = session.exec(select(func.count()).select_from(SavedPrompt).where(SavedPrompt.owner == owner)).one()
    if count >= config.prompts_per_owner:
        raise InputError(f"You already keep {count} saved prompts, the most one visitor may keep; delete one "
                         "or replace one of yours (save under its name).")


def _check_visitor_limits(session, config: settings.Settings, name: str, owner: str, stored: int,
                          replacing: SavedPrompt | None, admin: bool) -> None:
    """The per-prompt, per-owner and all-visitor bounds of a save from the page (module docstring)."""
    if stored > config.prompt_max_bytes:
        raise InputError(f"The prompt's images take {_megabytes(stored)} stored, above the limit of "
                         f"{_megabytes(config.prompt_max_bytes)} per prompt; use fewer or smaller images.")
    if replacing is None and not admin:
        _check_room(session, config, owner)
    others = session.exec(select(func.coalesce(func.sum(SavedPrompt.stored_bytes), 0))
                          .where(SavedPrompt.owner.is_not(None), SavedPrompt.name != name)).one()
    if int(others) + stored > config.prompt_storage:
        raise InputError("The server's storage for saved prompts is full; ask the operator to make room "
                         "(or to raise HARMONYLAB_PROMPT_STORAGE).")


def check_can_save(name: str, db: Database | None = None, *, owner: str | None = None, admin: bool = False) -> str:
    """The checked name, when ``owner`` may save under it: a usable name that is free or theirs, and (for a new
    prompt) room for one more of theirs. The page calls this before decoding any image; :func:`save_prompt`
    checks again when it writes."""
    name = _check_name(name)
    if owner is None:
        return name
    db = db or default_database()
    config = settings.current()
    with db.reading() as session:
        row = _row(session, name)
        if row is not None and not _may_change(row, owner, admin):
            raise _refuse_change(row, "replace")
        if row is None and not admin:
            _check_room(session, config, owner)
    return name


def save_prompt(name: str, images: Sequence[Any], scores: Sequence[float], labels: Sequence[str] | None = None,
                db: Database | None = None, *, owner: str | None = None, admin: bool = False) -> dict:
    """Store (or replace) the prompt ``name``; images are anything ``load_image`` accepts.

    ``owner`` is the visitor saving from the page (bounds and ownership apply; module docstring) or None for
    the operator (command line); ``admin`` (the caller checked the admin password) may replace any prompt.
    """
    db = db or default_database()
    name = _check_name(name)
    images = list(images)
    values = [float(v) for v in check_scores(scores, len(images))]
    labels = [str(label) for label in (labels if labels is not None else [f"pair {k + 1}" for k in range(len(images))])]
    if len(labels) != len(images):
        raise InputError(f"The prompt has {len(images)} images but {len(labels)} labels; give one label per image.")
    config = settings.current()
    if owner is not None:
        if len(images) > config.prompt_max_pairs:
            raise InputError(f"The prompt has {len(images)} pairs; a saved prompt holds at most "
                             f"{config.prompt_max_pairs} (HARMONYLAB_PROMPT_MAX_PAIRS).")
        with db.reading() as session:  # refuse at once, before decoding and staging any image
            existing = _row(session, name)
            if existing is not None and not _may_change(existing, owner, admin):
                raise _refuse_change(existing, "replace")
    with db.media.batch() as staging:
        hashes = [staging.put(image, name=f"prompt image '{label}'") for image, label in zip(images, labels, strict=True)]
        stored = sum(staging.size(h) for h in set(hashes))
        with db.writing() as session:  # the checks again, in the transaction that writes (concurrent saves)
            row = _row(session, name)
            if row is not None and not _may_change(row, owner, admin):
                raise _refuse_change(row, "replace")
            if owner is not None:
                _check_visitor_limits(session, config, name, owner, stored, row, admin)
            replaced = list(row.image_sha256s) if row is not None else []
            if row is None:
                row = SavedPrompt(name=name, image_sha256s=hashes, scores=values, labels=labels, created_at=utc_now(),
                                  owner=owner, stored_bytes=stored)
            else:
                row.image_sha256s, row.scores, row.labels, row.created_at = hashes, values, labels, utc_now()
                row.stored_bytes = stored
            session.add(row)
    _forget_unused_images(db, set(replaced) - set(hashes))
    return {"name": name, "pairs": len(values), "low": min(values), "high": max(values)}


def _forget_unused_images(db: Database, hashes: set[str]) -> None:
    """Remove from the media store those of ``hashes`` that no saved prompt and no campaign item uses.

    (An image added to a campaign at the very moment the last prompt using it is replaced could be removed
    under it; the campaign then reports the image as missing.)
    """
    if not hashes:
        return
    with db.reading() as session:
        used: set[str] = set()
        for row_hashes in session.exec(select(SavedPrompt.image_sha256s)).all():
            used.update(row_hashes or [])
        candidates = sorted(hashes - used)
        for column in (Item.sha256, Item.composite_sha256, Item.reference_sha256):
            if candidates:
                used.update(session.exec(select(column).where(column.in_(candidates))).all())
    for sha256 in hashes - used:
        db.media.delete(sha256)


# ------------------------------------------------------------------------------------------ reading


def _saved(name: str, db: Database) -> SavedPrompt:
    with db.reading() as session:
        row = _row(session, str(name).strip())
    if row is None:
        known = ", ".join(p["name"] for p in list_prompts(db)) or "none yet"
        raise InputError(f"There is no saved prompt called '{str(name)[:100]}'; saved prompts: {known}.")
    return row


def _missing(row: SavedPrompt) -> InputError:
    return InputError(f"An image of the saved prompt '{row.name}' is missing from the server's store; save the "
                      "prompt again.")


def get_prompt(name: str, db: Database | None = None) -> dict:
    """The saved prompt ``name``: ``paths`` (files of its images: the stored files, or local copies of images
    kept in the database, :meth:`backend.store.media.Media.file`), ``scores``, ``names``, ``created_at``."""
    db = db or default_database()
    row = _saved(name, db)
    try:
        paths = [db.media.file(h) for h in row.image_sha256s]
    except MissingImageError:
        raise _missing(row) from None
    return {"name": row.name, "paths": paths, "scores": list(row.scores), "names": list(row.labels),
            "created_at": row.created_at}


def load_prompt(name: str, db: Database | None = None) -> Prompt:
    """The saved prompt ``name`` decoded (from the media store's bytes, no files), ready to score under."""
    db = db or default_database()
    row = _saved(name, db)
    try:
        images = tuple(load_image(db.media.get(h), name=f"prompt image '{label}'")
                       for h, label in zip(row.image_sha256s, row.labels, strict=True))
    except MissingImageError:
        raise _missing(row) from None
    return Prompt(images, np.asarray(list(row.scores), dtype=np.float64), tuple(row.labels))


def list_prompts(db: Database | None = None) -> list[dict]:
    """Name, number of pairs, lowest and highest score and time of every saved prompt, newest first."""
    db = db or default_database()
    with db.reading() as session:
        rows = session.exec(select(SavedPrompt).order_by(SavedPrompt.created_at.desc(), SavedPrompt.id.desc())).all()
    return [{"name": r.name, "pairs": len(r.scores), "low": min(r.scores), "high": max(r.scores),
             "created_at": r.created_at} for r in rows]


def delete_prompt(name: str, db: Database | None = None, *, owner: str | None = None, admin: bool = False) -> bool:
    """Remove the saved prompt ``name`` (and its images no other prompt or campaign uses); True when one was
    removed. ``owner`` / ``admin`` as in :func:`save_prompt`: a visitor deletes only their own prompts."""
    db = db or default_database()
    with db.writing() as session:
        row = _row(session, str(name).strip())
        if row is not None:
            if not _may_change(row, owner, admin):
                raise _refuse_change(row, "delete")
            hashes = set(row.image_sha256s)
            session.delete(row)
    if row is not None:
        _forget_unused_images(db, hashes)
    return row is not None
