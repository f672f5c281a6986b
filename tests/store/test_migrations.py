"""Migrations: upgrading an empty database gives exactly the models' tables; concurrent start-ups are safe."""

from __future__ import annotations

import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from backend.store import session as _session_tables  # noqa: F401 - its tables join the models' metadata
from backend.store.db import make_engine
from backend.store.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from backend.store.models import metadata
from tests.conftest import REPO


def _differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)


def test_upgrade_of_an_empty_database_gives_the_models_tables(database_url):
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade_to_head(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
        assert _differences(engine) == []
        upgrade_to_head(engine)  # a second start-up is a no-op
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(database_url):
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            command.downgrade(alembic_config(connection), "base")
            connection.commit()
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade_to_head(engine)
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_several_processes_starting_at_once_all_end_at_head(database_url, tmp_path):
    script = ("import sys; from backend.store.db import Database; "
              "Database(sys.argv[1], sys.argv[2]).dispose(); print('ok')")
    processes = [subprocess.Popen([sys.executable, "-c", script, database_url, str(tmp_path / "data")], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0] * 3, [err[-2000:] for _, err in results]
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
        assert _differences(engine) == []
    finally:
        engine.dispose()
