"""Keys a deployment generates for itself, kept in the database (table ``deployment_secrets``).

:func:`deployment_secret` returns the key named ``name``, creating a random one the first time. Every
replica of one database and every restart get the same key: the first writer wins (the primary key
makes a second insert fail, after which the stored key is read). Used for the root key of the annotator
ids the server issues (:mod:`backend.store.annotators`) when the operator did not set
``HARMONYLAB_BROWSER_SECRET`` -- a key published in the source code would let anyone forge any
annotator's id.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.store.db import Database
from backend.store.models import DeploymentSecret, utc_now

KEY_BYTES = 32


def _stored(db: Database, name: str) -> str | None:
    with db.reading() as session:
        row = session.exec(select(DeploymentSecret).where(DeploymentSecret.name == name)).first()
        return row.value if row is not None else None


def deployment_secret(db: Database, name: str) -> str:
    """The deployment's key ``name`` (hex, 256 bits), generated and stored on first use."""
    value = _stored(db, name)
    if value is not None:
        return value
    try:
        with db.writing() as session:
            session.add(DeploymentSecret(name=name, value=secrets.token_hex(KEY_BYTES), created_at=utc_now()))
    except IntegrityError:  # another process stored it first: use theirs
        pass
    value = _stored(db, name)
    if value is None:
        raise RuntimeError(f"the deployment secret {name!r} could not be stored")
    return value
