"""Alembic migrations of the annotation store, driven from Python (no ``alembic.ini``).

:func:`upgrade_to_head` brings a database to the newest revision in ``backend/store/migrations``. It is
called whenever a :class:`backend.store.db.Database` is opened, i.e. at app start-up and by the CLI, and
is safe when several processes start at once: the upgrade runs under an exclusive lock — a PostgreSQL
advisory lock (keyed by the current schema) or, for SQLite, an ``flock`` on ``<database file>.lock`` —
so exactly one process migrates and the others then find the schema at head.

New migration (developers)::

    python -m backend.store.migrate revision "add column x"    # autogenerates from the models

which upgrades a scratch SQLite database to head and writes the difference to the models' metadata as
a new file in ``backend/store/migrations/versions/`` (review it before committing).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
LOCK_NAME = "harmonylab-store-migrations:"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: no inter-process lock available
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _postgres_lock(connection: Connection) -> Iterator[None]:
    key = text("SELECT hashtext(:name || current_schema())")
    lock_id = connection.execute(key, {"name": LOCK_NAME}).scalar_one()
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
        connection.commit()


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")
    connection.commit()


def upgrade_to_head(engine: Engine) -> None:
    """Upgrade the database of ``engine`` to the newest migration (no-op when it is there already)."""
    head = head_revision()
    if current_revision(engine) == head:
        return
    dialect = engine.dialect.name
    if dialect == "sqlite":
        with _file_lock(Path(f"{engine.url.database}.lock")), engine.connect() as connection:
            _upgrade(connection)
    elif dialect == "postgresql":
        with engine.connect() as connection, _postgres_lock(connection):
            _upgrade(connection)
    else:
        with engine.connect() as connection:
            _upgrade(connection)


def autogenerate_revision(message: str) -> None:
    """Write a new migration with the difference between head and the models (see module docstring)."""
    from backend.store.db import make_engine  # db imports this module to upgrade every database it opens

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        upgrade_to_head(engine)
        with engine.connect() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        print('usage: python -m backend.store.migrate revision "message"', file=sys.stderr)
        sys.exit(2)
    autogenerate_revision(sys.argv[2])
