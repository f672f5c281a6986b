"""Fixtures of the store tests: a fresh database per test on SQLite and on PostgreSQL, campaign files.

Every test that takes ``database_url`` (or ``db``) runs twice: on an SQLite file in its temporary folder
and on PostgreSQL in a schema of its own (``hl_test_<pid>_<random>``, selected through ``search_path``
and dropped afterwards), so runs never collide. PostgreSQL needs ``HARMONYLAB_TEST_POSTGRES_URL``
(``.ci/run`` sets it); without it those runs are skipped with that reason.

Campaign images are photos shipped in scikit-image, small crops with colour shifts as "methods".
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import sample_photo

POSTGRES_ENV = "HARMONYLAB_TEST_POSTGRES_URL"
PHOTOS = ("astronaut", "coffee", "chelsea")
METHODS = {"identity": (0, 0, 0), "warm": (40, 10, -30), "cool": (-30, 0, 40), "dark": (-60, -60, -60)}
SIZE = 64


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A new empty schema; yields a URL whose connections use it (``search_path``); drops it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"hl_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (.ci/run sets it), so the PostgreSQL run of this store test is skipped")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture
def db(database_url, tmp_path):
    from backend.store.db import Database

    database = Database(database_url, tmp_path / "data")
    yield database
    database.dispose()


def write_photo(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def shifted(image: np.ndarray, shift: tuple[int, int, int]) -> np.ndarray:
    return np.clip(image.astype(np.int16) + np.array(shift, dtype=np.int16), 0, 255).astype(np.uint8)


@pytest.fixture
def campaign_files(tmp_path) -> dict[str, Path]:
    """A manifest (3 groups x 4 methods, with references and composites) and gold files, in one folder."""
    root = tmp_path / "campaign"
    rows = ["path,group,method,reference,composite"]
    for photo in PHOTOS:
        reference = sample_photo(photo)[:SIZE * 2:2, :SIZE * 2:2].copy()
        write_photo(root / photo / "reference.png", reference)
        write_photo(root / photo / "composite.png", shifted(reference, (70, -20, -50)))
        for method, shift in METHODS.items():
            write_photo(root / photo / f"{method}.png", shifted(reference, shift))
            rows.append(f"{photo}/{method}.png,{photo},{method},{photo}/reference.png,{photo}/composite.png")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    write_photo(root / "gold" / "good.png", sample_photo("rocket")[:SIZE, :SIZE].copy())
    write_photo(root / "gold" / "bad.png", shifted(sample_photo("rocket")[:SIZE, :SIZE], (120, -120, 120)))
    (root / "gold.csv").write_text("better,worse\ngold/good.png,gold/bad.png\n")
    (root / "gold_rating.csv").write_text("path,min_score,max_score\ngold/bad.png,1,2\n")
    return {"root": root, "manifest": root / "manifest.csv", "gold": root / "gold.csv",
            "gold_rating": root / "gold_rating.csv"}


def annotator(db, key: str) -> str:
    """The annotator id the server would issue, with a readable ``key`` (the server picks random ones): what
    tests send as ``annotator_id``. ``db`` is any open database of the app (they share the signing key)."""
    from backend.store.annotators import sign

    return sign(db, key)


def served_token(info, token: str, key: str):
    """What the pair/item token ``token`` served to annotator ``key`` names (items, gold): opened with the
    campaign's secret (``info`` is its CampaignInfo) as only the server can."""
    from backend.store import tokens

    return tokens.read(token, token[0], info.id, info.name, info.secret, key)


def make_campaign(db, files: dict[str, Path], name: str = "study", kind: str = "pairwise", gold: bool = False, **settings):
    from backend.store.campaigns import CampaignSettings, create_campaign

    gold_file = (files["gold"] if kind == "pairwise" else files["gold_rating"]) if gold else None
    return create_campaign(name, files["manifest"], CampaignSettings(kind=kind, **settings), gold=gold_file, db=db)


ADMIN_PASSWORD = "store-test-admin"


@pytest.fixture
def cli_database(database_url, tmp_path, monkeypatch, settings_env):
    """The default database of the CLI (and services called without ``db``) pointed at this test's store."""
    from backend.store.db import close_default_databases

    settings_env(HARMONYLAB_DATABASE_URL=database_url, HARMONYLAB_DATA_DIR=tmp_path / "cli-data")
    yield database_url
    close_default_databases()


@pytest.fixture
def rest_client(database_url, tmp_path, settings_env):
    """The JSON API of ``ui/rest.py`` in this process (Starlette's TestClient: the same routes and services the
    app serves, without starting it) on this test's database; yields ``(client, db)``. Server errors come back
    as 500 responses, not exceptions. Tests change settings (rate limits) with ``settings_env`` first."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from backend.store.db import Database, close_default_databases
    from ui import rest

    settings_env(HARMONYLAB_DATABASE_URL=database_url, HARMONYLAB_DATA_DIR=tmp_path / "data")
    db = Database(database_url, tmp_path / "data")
    try:
        with TestClient(Starlette(routes=rest.routes()), raise_server_exceptions=False) as client:
            yield client, db
    finally:
        close_default_databases()
        db.dispose()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_app(request, tmp_path_factory):
    """The real app (``python app.py``) on SQLite or on PostgreSQL (own schema), admin section enabled.

    Shared by the API, crash and browser tests of a session; a test that kills the app restarts it on the
    same data before it ends, so the fixture always hands out a running app.
    """
    from tests.conftest import LiveApp

    data = tmp_path_factory.mktemp(f"store-app-{request.param}")
    env = {"HARMONYLAB_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            base = os.environ.get(POSTGRES_ENV)
            if not base:
                pytest.skip(f"{POSTGRES_ENV} is not set (.ci/run sets it), so the PostgreSQL app tests are skipped")
            env["HARMONYLAB_DATABASE_URL"] = stack.enter_context(postgres_schema(base))
        app = LiveApp(data, extra_env=env).start()
        stack.callback(app.stop)
        yield app


@pytest.fixture
def app_db(store_app):
    """The live app's database, opened from the test process (to create campaigns and check what is stored)."""
    from backend.store.db import Database

    url = store_app.env.get("HARMONYLAB_DATABASE_URL") or f"sqlite:///{store_app.data_dir / 'harmonylab.db'}"
    database = Database(url, store_app.data_dir)
    yield database
    database.dispose()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class VoteStreamer:
    """Clients that vote as fast as the app answers and remember every acknowledged client id.

    ``connect()`` opens one client per thread (a context manager); ``vote(client, campaign, annotator id,
    vote_id)`` asks for a pair, votes on it and returns the acknowledgement. A thread stops at its first
    failure (the app was killed under it).
    """

    def __init__(self, campaign: str, prefix: str, connect, vote, clients: int = 3):
        self.campaign, self.prefix, self.connect, self.vote = campaign, prefix, connect, vote
        self.acknowledged: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.stream, args=(k,), daemon=True) for k in range(clients)]

    def stream(self, index: int) -> None:
        try:
            with self.connect() as client:
                while True:
                    vote_id = f"{self.prefix}-{index}-{uuid.uuid4().hex}"
                    ack = self.vote(client, self.campaign, self.annotators[index], vote_id)
                    assert ack["status"] == "stored" and ack["client_id"] == vote_id
                    with self.lock:
                        self.acknowledged.append(vote_id)
        except Exception:  # the app was killed under us: stop streaming
            return

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def kill_app_and_check(self, store_app, app_db, minimum: int) -> None:
        """SIGKILL the app after ``minimum`` acknowledged votes, restart it, and check that every acknowledged
        vote is stored once and at most the in-flight ones (one per thread) were stored unacknowledged."""
        from sqlalchemy import func
        from sqlmodel import select

        from backend.store.models import Comparison

        self.annotators = [annotator(app_db, f"{self.prefix}-streamer-{k}") for k in range(len(self.threads))]
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + 120
        while self.count() < minimum and time.monotonic() < deadline:
            time.sleep(0.02)
        store_app.stop(kill=True)  # SIGKILL, with votes in flight
        for thread in self.threads:
            thread.join(timeout=60)
        acknowledged = set(self.acknowledged)
        assert len(acknowledged) >= minimum
        store_app.start()
        pattern = f"{self.prefix}-%"
        with app_db.reading() as session:
            kept = set(session.exec(select(Comparison.client_id).where(Comparison.client_id.like(pattern))).all())
            rows = session.exec(select(func.count()).select_from(Comparison).where(Comparison.client_id.like(pattern))).one()
        assert acknowledged <= kept  # every acknowledged vote survived
        assert len(kept - acknowledged) <= len(self.threads)  # at most the ones in flight, unacknowledged
        assert rows == len(kept)  # each stored once
