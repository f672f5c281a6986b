"""Saved PromptIQA prompts (paper 004 Sec. 3.2 A): named image-score-pair prompts kept in the store.

A prompt is saved under a name (the campaign-name rules: 1-100 letters, digits, '.', '_' or '-'); its
images go to the content-addressed media store (:mod:`backend.store.media`, so what is saved is exactly
the decoded RGB the model saw) and its scores -- in the user's own scale -- and display labels are kept
in order as JSON in the ``saved_prompts`` table (migration ``0002_saved_prompts``). Saving under an
existing name replaces that prompt. The scores are validated like any prompt (at least 2 pairs, finite,
not all equal, one per image).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlmodel import select

from backend.errors import InputError
from backend.images import load_image
from backend.protocols import Prompt, check_scores
from backend.store.campaigns import NAME_PATTERN
from backend.store.db import Database, default_database
from backend.store.models import SavedPrompt, utc_now


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name.strip()):
        raise InputError(f"Prompt name {name!r} is not usable; use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit.")
    return name.strip()


def save_prompt(name: str, images: Sequence[Any], scores: Sequence[float], labels: Sequence[str] | None = None,
                db: Database | None = None) -> dict:
    """Store (or replace) the prompt ``name``; images are anything ``load_image`` accepts."""
    db = db or default_database()
    name = _check_name(name)
    images = list(images)
    values = [float(v) for v in check_scores(scores, len(images))]
    labels = [str(label) for label in (labels if labels is not None else [f"pair {k + 1}" for k in range(len(images))])]
    if len(labels) != len(images):
        raise InputError(f"The prompt has {len(images)} images but {len(labels)} labels; give one label per image.")
    with db.media.batch() as staging:
        hashes = [staging.put(image, name=f"prompt image '{label}'") for image, label in zip(images, labels, strict=False)]
    with db.writing() as session:
        row = session.exec(select(SavedPrompt).where(SavedPrompt.name == name)).first()
        if row is None:
            row = SavedPrompt(name=name, image_sha256s=hashes, scores=values, labels=labels, created_at=utc_now())
        else:
            row.image_sha256s, row.scores, row.labels, row.created_at = hashes, values, labels, utc_now()
        session.add(row)
    return {"name": name, "pairs": len(values), "low": min(values), "high": max(values)}


def get_prompt(name: str, db: Database | None = None) -> dict:
    """The saved prompt ``name``: ``paths`` (stored image files), ``scores``, ``names``, ``created_at``."""
    db = db or default_database()
    with db.reading() as session:
        row = session.exec(select(SavedPrompt).where(SavedPrompt.name == str(name).strip())).first()
    if row is None:
        known = ", ".join(p["name"] for p in list_prompts(db)) or "none yet"
        raise InputError(f"There is no saved prompt called '{name}'; saved prompts: {known}.")
    return {"name": row.name, "paths": [db.media.file(h) for h in row.image_sha256s], "scores": list(row.scores),
            "names": list(row.labels), "created_at": row.created_at}


def load_prompt(name: str, db: Database | None = None) -> Prompt:
    """The saved prompt ``name`` decoded, ready to score under."""
    saved = get_prompt(name, db=db)
    images = tuple(load_image(path, name=f"prompt image '{label}'") for path, label in
                   zip(saved["paths"], saved["names"], strict=True))
    return Prompt(images, np.asarray(saved["scores"], dtype=np.float64), tuple(saved["names"]))


def list_prompts(db: Database | None = None) -> list[dict]:
    """Name, number of pairs, lowest and highest score and time of every saved prompt, newest first."""
    db = db or default_database()
    with db.reading() as session:
        rows = session.exec(select(SavedPrompt).order_by(SavedPrompt.created_at.desc(), SavedPrompt.id.desc())).all()
    return [{"name": r.name, "pairs": len(r.scores), "low": min(r.scores), "high": max(r.scores),
             "created_at": r.created_at} for r in rows]


def delete_prompt(name: str, db: Database | None = None) -> bool:
    """Remove the saved prompt ``name`` (its images stay in the media store); True when one was removed."""
    db = db or default_database()
    with db.writing() as session:
        row = session.exec(select(SavedPrompt).where(SavedPrompt.name == str(name).strip())).first()
        if row is not None:
            session.delete(row)
    return row is not None
