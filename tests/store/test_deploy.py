"""Deployment (issue #21), with the real app: images kept in the database outlive the data directory, and two
app processes on one PostgreSQL database serve one vote stream, one of them SIGKILLed in the middle."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
import time
import uuid

import httpx
import pytest

from backend.store.db import Database
from tests.conftest import LiveApp
from tests.store.conftest import POSTGRES_ENV, make_campaign, postgres_schema

pytestmark = pytest.mark.slow


def campaign_hashes(info) -> set[str]:
    return {h for item in info.items.values() for h in (item.sha256, item.composite_sha256, item.reference_sha256) if h}


def check_images(url: str, hashes: set[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        for sha256 in hashes:
            response = client.get(f"annotate/v1/images/{sha256}.png")
            assert response.status_code == 200, (url, response.status_code, response.text[:200])
            assert hashlib.sha256(response.content).hexdigest() == sha256
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["etag"] == f'"{sha256}"'


@pytest.fixture
def server_database(database_url, tmp_path) -> tuple[str, dict]:
    """The database URL and the app settings for the database media store: on SQLite the file lies outside the
    data directory and the store is chosen explicitly; on PostgreSQL it is the default."""
    if database_url.startswith("sqlite"):
        (tmp_path / "db").mkdir(exist_ok=True)
        url = f"sqlite:///{tmp_path / 'db' / 'store.db'}"
        return url, {"HARMONYLAB_DATABASE_URL": url, "HARMONYLAB_MEDIA": "database"}
    return database_url, {"HARMONYLAB_DATABASE_URL": database_url}


def test_images_in_the_database_outlive_the_data_directory(server_database, tmp_path, campaign_files):
    url, env = server_database
    data = tmp_path / "data"
    db = Database(url, tmp_path / "creator", media="database")
    info = make_campaign(db, campaign_files, kind="rating", gold=True)
    hashes = campaign_hashes(info)
    data.mkdir()
    app = LiveApp(data, extra_env=env).start()
    try:
        with httpx.Client(base_url=app.url, timeout=60) as client:
            voter = client.post("annotate/v1/annotators").json()["annotator_id"]
            served = client.get(f"annotate/v1/campaigns/{info.name}/next_item", params={"annotator_id": voter}).json()
        check_images(app.url, {served["image"][-68:-4]})
        app.stop()
        shutil.rmtree(data)  # a Space restart without persistent storage
        data.mkdir()
        app.start()
        check_images(app.url, hashes)  # every image of the campaign, after the restart
        with httpx.Client(base_url=app.url, timeout=60) as client:
            ack = client.post("annotate/v1/rate", json={"campaign": info.name, "annotator_id": voter,
                                                         "item_id": served["item_id"], "score": 4,
                                                         "client_rating_id": uuid.uuid4().hex}).json()
            assert ack["status"] == "stored"  # the id and the token issued before the restart still work
            sha256 = next(iter(hashes))
            again = client.get(f"annotate/v1/images/{sha256}.png", headers={"If-None-Match": f'"{sha256}"'})
            assert again.status_code == 304
        assert not (data / "images").exists()
    finally:
        app.stop()
        db.dispose()


class AlternatingVoters:
    """Threads that each ask one replica for a pair and vote on it through the other, in turn; when a replica
    stops answering (killed), they resend the same vote to the other one, as a load balancer retries, and go
    on with the survivor."""

    def __init__(self, urls: list[str], campaign: str, voters: list[str]):
        self.urls, self.campaign, self.voters = urls, campaign, voters
        self.alive = [True] * len(urls)
        self.acknowledged: dict[str, str] = {}  # client id -> status
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True) for k in range(len(voters))]

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def _replica(self, step: int) -> int:
        living = [k for k, alive in enumerate(self.alive) if alive]
        return living[step % len(living)]

    def _call(self, clients, step: int, method: str, path: str, **kwargs):
        for attempt in range(len(self.urls) + 1):
            replica = self._replica(step + attempt)
            try:
                response = clients[replica].request(method, path, **kwargs)
                if response.status_code < 500:
                    return response
            except httpx.TransportError:
                pass
            self.alive[replica] = False
        raise RuntimeError(f"no replica answered {path}")

    def run(self, index: int) -> None:
        clients = [httpx.Client(base_url=url, timeout=30) for url in self.urls]
        voter = self.voters[index]
        step = index
        try:
            while not self.stop.is_set():
                pair = self._call(clients, step, "GET", f"annotate/v1/campaigns/{self.campaign}/next_pair",
                                  params={"annotator_id": voter}).json()
                vote_id = f"replicas-{index}-{uuid.uuid4().hex}"
                body = {"campaign": self.campaign, "annotator_id": voter, "pair_id": pair["pair_id"],
                        "choice": "left", "client_vote_id": vote_id}
                ack = self._call(clients, step + 1, "POST", "annotate/v1/vote", json=body).json()
                assert ack.get("status") in ("stored", "duplicate") and ack["client_id"] == vote_id, ack
                with self.lock:
                    self.acknowledged[vote_id] = ack["status"]
                step += 1
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(error))
        finally:
            for client in clients:
                client.close()


@pytest.mark.postgres
def test_two_replicas_share_a_vote_stream_and_survive_one_being_killed(tmp_path, campaign_files):
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (.ci/run sets it), so the replica test is skipped")
    from sqlalchemy import func
    from sqlmodel import select

    from backend.store.models import Comparison

    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_schema(base))
        db = Database(url, tmp_path / "creator")  # the default store of a server database: the database
        stack.callback(db.dispose)
        info = make_campaign(db, campaign_files, gold=True, gold_rate=0.2)
        env = {"HARMONYLAB_DATABASE_URL": url}
        apps = [LiveApp(tmp_path / f"replica-{k}", extra_env=env) for k in range(2)]  # no shared directory
        for app in apps:
            app.data_dir.mkdir()
            stack.callback(app.stop)
            app.start()
        for app in apps:
            check_images(app.url, campaign_hashes(info))
        with httpx.Client(base_url=apps[0].url, timeout=30) as client:  # ids issued by replica 0 ...
            voters = [client.post("annotate/v1/annotators").json()["annotator_id"] for _ in range(3)]
        stream = AlternatingVoters([app.url for app in apps], info.name, voters)  # ... used on both
        for thread in stream.threads:
            thread.start()
        deadline = time.monotonic() + 120
        while stream.count() < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        apps[0].stop(kill=True)  # SIGKILL with votes in flight
        killed_at = stream.count()
        while stream.count() < killed_at + 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        stream.stop.set()
        for thread in stream.threads:
            thread.join(timeout=60)
        assert not stream.errors, stream.errors
        assert killed_at >= 60 and stream.count() >= killed_at + 30
        acknowledged = set(stream.acknowledged)
        with db.reading() as session:
            stored = session.exec(select(Comparison.client_id).where(Comparison.client_id.like("replicas-%"))).all()
            rows = session.exec(select(func.count()).select_from(Comparison).where(
                Comparison.campaign_id == info.id)).one()
        assert len(stored) == len(set(stored)) == rows  # each stored once, nothing else
        assert set(stored) == acknowledged  # every acknowledged vote; the in-flight ones were resent and acknowledged
        check_images(apps[1].url, campaign_hashes(info))  # the survivor serves every image
