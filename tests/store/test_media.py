"""Media stores (issue #21): images in the data directory's folder or in the database, read from either, moved
between them by ``python -m backend media migrate`` with a crash in the middle, and served by the image route."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid

import numpy as np
import pytest

from backend.errors import InputError
from backend.settings import SettingsError, parse
from backend.store.db import Database
from backend.store.media import LocalCache, MissingImageError
from tests.conftest import REPO
from tests.store.conftest import annotator, make_campaign


def campaign_hashes(info) -> set[str]:
    return {h for item in info.items.values() for h in (item.sha256, item.composite_sha256, item.reference_sha256) if h}


def intact(db, hashes) -> bool:
    return all(hashlib.sha256(db.media.get(h)).hexdigest() == h for h in hashes)


def test_an_unknown_media_store_is_refused_with_a_sentence():
    assert parse({}).media is None  # auto: database with a server database, folder with SQLite
    assert parse({"HARMONYLAB_MEDIA": "Database"}).media == "database"
    with pytest.raises(SettingsError, match="HARMONYLAB_MEDIA='s3' is not usable: it accepts folder, database or auto"):
        parse({"HARMONYLAB_MEDIA": "s3"})


def test_the_default_store_follows_the_database(db):
    assert db.media.kind == ("folder" if db.is_sqlite else "database")


@pytest.mark.parametrize("kind", ["folder", "database"])
def test_each_store_keeps_the_contract(database_url, tmp_path, campaign_files, kind):
    db = Database(database_url, tmp_path / "data", media=kind)
    try:
        info = make_campaign(db, campaign_files, kind="rating")
        hashes = campaign_hashes(info)
        assert db.media.primary.hashes() == sorted(hashes) and db.media.hashes() == sorted(hashes)
        assert db.media.backend("folder" if kind == "database" else "database").hashes() == []
        assert intact(db, hashes)
        some = sorted(hashes)[0]
        assert db.media.array(some).dtype == np.uint8 and db.media.size(some) == len(db.media.get(some))
        with open(db.media.file(some), "rb") as file:  # a file for code that needs a path
            assert hashlib.sha256(file.read()).hexdigest() == some
        assert db.media.served_name(some).endswith(f"{some}.png")
        if kind == "database":  # nothing in the data directory but the cache of copies
            assert not (tmp_path / "data" / "images").exists()
            assert db.media.served_name(some) == f"{some}.png" and db.media.local_path(some) is None
        with pytest.raises(InputError, match="not an image hash"):
            db.media.get("../../etc/passwd")
        missing = "0" * 64
        with pytest.raises(MissingImageError, match="missing from the media store") as refused:
            db.media.get(missing)
        assert str(tmp_path) not in str(refused.value)
        # a refused batch stores nothing; a damaged copy is never accepted under a hash
        before = db.media.hashes()
        with pytest.raises(RuntimeError), db.media.batch() as staging:
            staging.put(np.full((8, 8, 3), 7, np.uint8))
            raise RuntimeError("refused")
        assert db.media.hashes() == before
        with pytest.raises(ValueError, match="damaged"):
            db.media.put_png(b"not the bytes", some)
    finally:
        db.dispose()


def test_images_of_the_other_store_stay_readable_and_served(database_url, tmp_path, campaign_files, settings_env):
    """A campaign created with one store is served after the setting names the other (the fallback reader)."""
    settings_env(HARMONYLAB_DATABASE_URL=database_url, HARMONYLAB_DATA_DIR=tmp_path / "data")
    created = Database(database_url, tmp_path / "data", media="folder")
    info = make_campaign(created, campaign_files)
    created.dispose()
    db = Database(database_url, tmp_path / "data", media="database")
    try:
        assert db.media.primary.hashes() == [] and intact(db, campaign_hashes(info))
        from backend.store import pairwise

        served = pairwise.next_pair(info.name, annotator(db, "reader"), db=db)
        assert served.left_image.endswith(".png") and db.media.get(served.left_image[-68:-4])
    finally:
        db.dispose()


def test_the_database_store_survives_the_data_directory(database_url, tmp_path, campaign_files, rest_client, settings_env):
    """The in-process check of the restart test (tests/store/test_deploy.py): delete the data directory, serve."""
    client, _ = rest_client
    settings_env(HARMONYLAB_MEDIA="database")
    db = Database(database_url, tmp_path / "data")
    try:
        info = make_campaign(db, campaign_files)
        db.media.file(info.items[min(info.items)].sha256)  # a cached copy in the data directory
        shutil.rmtree(tmp_path / "data")
        for sha256 in campaign_hashes(info):
            response = client.get(f"/annotate/v1/images/{sha256}.png")
            assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == sha256
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["etag"] == f'"{sha256}"' and response.headers["content-type"] == "image/png"
        again = client.get(f"/annotate/v1/images/{sha256}.png", headers={"If-None-Match": f'"{sha256}"'})
        assert again.status_code == 304 and again.content == b""
        assert client.get(f"/annotate/v1/images/{'0' * 64}.png").status_code == 404
        assert client.get("/annotate/v1/images/nothex.png").status_code == 400
        assert intact(db, campaign_hashes(info))
    finally:
        db.dispose()


def test_the_folder_store_does_not_survive_the_data_directory(database_url, tmp_path, campaign_files, rest_client,
                                                                settings_env):
    """The problem of issue #21, for contrast: the folder store's images go with the data directory."""
    client, _ = rest_client
    settings_env(HARMONYLAB_MEDIA="folder")
    db = Database(database_url, tmp_path / "data")
    try:
        info = make_campaign(db, campaign_files)
        shutil.rmtree(tmp_path / "data" / "images")
        sha256 = info.items[min(info.items)].sha256
        assert client.get(f"/annotate/v1/images/{sha256}.png").status_code == 404
        with pytest.raises(MissingImageError):
            db.media.served_name(sha256)
    finally:
        db.dispose()


def test_the_local_cache_is_bounded_but_keeps_recent_copies(tmp_path):
    cache = LocalCache(tmp_path / "cache", max_bytes=2500)
    hashes = [hashlib.sha256(bytes([k])).hexdigest() for k in range(5)]
    for sha256 in hashes:
        cache.put(sha256, bytes(1000))
    assert all(cache.get(h) is not None for h in hashes)  # all used just now: none is removed
    cache.MIN_AGE_S = 0.0
    cache.get(hashes[0])  # the first is now the most recently used
    cache.put(hashes[0], bytes(1000))
    kept = [h for h in hashes if (tmp_path / "cache" / h[:2] / h[2:4] / f"{h}.png").exists()]
    assert len(kept) == 2 and hashes[0] in kept


# ------------------------------------------------------------------------------------ media migrate


def _cli_env(database_url, data_dir, **extra) -> dict:
    return {**os.environ, "HARMONYLAB_DATABASE_URL": database_url, "HARMONYLAB_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1", **extra}


def _migrate(env, to: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "backend", "media", "migrate", "--to", to, *args], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _crash_after(process: subprocess.Popen, moved: int) -> list[str]:
    """SIGKILL ``process`` once it reported ``moved`` images moved; the lines it printed."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        if sum(entry.startswith("moved ") for entry in lines) >= moved:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    return lines


def test_media_migrate_both_ways_survives_a_crash_in_the_middle(database_url, tmp_path, campaign_files, rest_client,
                                                               settings_env):
    """Folder -> database -> folder with a SIGKILL in the middle of each move, voting all along: every image is
    intact in one store or the other at every moment, and the resumed move ends with the same hashes."""
    client, _ = rest_client
    data = tmp_path / "data"
    settings_env(HARMONYLAB_MEDIA="folder")
    db = Database(database_url, data)
    info = make_campaign(db, campaign_files, gold=True)
    hashes = campaign_hashes(info)
    assert len(hashes) == 17 and sorted(hashes) == db.media.backend("folder").hashes()
    voter = client.post("/annotate/v1/annotators").json()["annotator_id"]

    def vote_and_see_images() -> None:  # what annotators do, at any moment of the move
        pair = client.get(f"/annotate/v1/campaigns/{info.name}/next_pair", params={"annotator_id": voter}).json()
        ack = client.post("/annotate/v1/vote", json={"campaign": info.name, "annotator_id": voter,
                                                      "pair_id": pair["pair_id"], "choice": "left",
                                                      "client_vote_id": uuid.uuid4().hex}).json()
        assert ack["status"] == "stored"
        for sha256 in hashes:
            image = client.get(f"/annotate/v1/images/{sha256}.png")
            assert image.status_code == 200 and hashlib.sha256(image.content).hexdigest() == sha256

    for to, other in (("database", "folder"), ("folder", "database")):
        env = _cli_env(database_url, data)
        lines = _crash_after(_migrate(env, to, "--pause-ms", "150"), moved=3)
        target, source = db.media.backend(to), db.media.backend(other)
        assert 3 <= len(target.hashes()) < len(hashes) and set(target.hashes()) | set(source.hashes()) == hashes, lines
        assert intact(db, hashes)
        vote_and_see_images()
        resumed = _migrate(env, to)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err[-2000:]
        outcome = json.loads(out)
        assert outcome["left_in_source"] == 0 and outcome["in_target"] == len(hashes) and outcome["damaged"] == 0
        assert target.hashes() == sorted(hashes) and source.hashes() == []
        assert all(hashlib.sha256(target.get(h)).hexdigest() == h for h in hashes)
        vote_and_see_images()
    db.dispose()


def test_media_migrate_keeps_a_damaged_copy_where_it_is(db, campaign_files):
    from backend.store.media_migrate import migrate, status

    info = make_campaign(db, campaign_files)
    to = "database" if db.media.kind == "folder" else "folder"
    source = db.media.primary
    victim = sorted(campaign_hashes(info))[0]
    good = source.get(victim)
    source.delete(victim)
    if source.kind == "folder":
        source.path(victim).parent.mkdir(parents=True, exist_ok=True)
        source.path(victim).write_bytes(good[:-10])
    else:
        from sqlalchemy import insert

        from backend.store.models import MediaBlob, utc_now

        with db.write_connection() as connection:
            connection.execute(insert(MediaBlob).values(sha256=victim, data=good[:-10], size=len(good) - 10,
                                                        created_at=utc_now()))
    outcome = migrate(db, to)
    assert outcome["damaged_images"] == [victim] and outcome["left_in_source"] == 1
    assert not db.media.backend(to).has(victim)
    report = status(db)
    assert report["missing"] == 0 and report["images_in_use"] == len(campaign_hashes(info))


def test_code_that_needs_files_gets_local_copies_of_database_images(database_url, tmp_path, campaign_files):
    """campaign_scores (leaderboard models vs people, HarmonyIQA rows, PromptIQA sampling) and saved prompts hand
    out file paths; with the database store they are copies in the local cache, byte for byte."""
    from backend.campaign_scores import campaign_scores
    from backend.store import prompts, rating

    db = Database(database_url, tmp_path / "data", media="database")
    try:
        info = make_campaign(db, campaign_files, kind="rating")
        for person in ("ann", "ben", "cat"):
            voter = annotator(db, person)
            for _ in info.ordinary_ids:
                served = rating.next_item(info.name, voter, db=db)
                rating.rate(info.name, voter, served.item_id, 1 + len(served.image) % 5, uuid.uuid4().hex, db=db)
        table = campaign_scores(info.name, db).table
        items = {item.label: item for item in info.items.values()}
        for label, image, reference in zip(table["item"], table["image"], table["reference"], strict=True):
            assert hashlib.sha256(open(image, "rb").read()).hexdigest() == items[label].sha256
            assert hashlib.sha256(open(reference, "rb").read()).hexdigest() == items[label].reference_sha256
            assert str(tmp_path / "data" / "cache") in image
        photos = [np.full((16, 16, 3), k * 40, np.uint8) for k in range(3)]
        prompts.save_prompt("copies", photos, [1.0, 2.0, 3.0], db=db)
        assert not (tmp_path / "data" / "images").exists()
        loaded = prompts.load_prompt("copies", db=db)
        assert all(np.array_equal(a, b) for a, b in zip(loaded.images, photos, strict=True))
        paths = prompts.get_prompt("copies", db=db)["paths"]
        assert all(open(p, "rb").read() == db.media.get(os.path.basename(p)[:-4]) for p in paths)
        prompts.delete_prompt("copies", db=db)  # its images leave the database store
        assert set(db.media.hashes()) == campaign_hashes(info)
    finally:
        db.dispose()
