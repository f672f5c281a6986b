"""Two app processes on one database (issue #21), in one test process: two :class:`Database` objects have
separate caches, rate limits and writers, exactly what two replicas have, and share only the database (and, with
the database media store, not even a data directory). The real two-process test is tests/store/test_deploy.py."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from backend.errors import InputError
from backend.store import campaigns, pairwise, rating
from backend.store.annotators import issue_annotator_id
from backend.store.db import Database
from backend.store.export import answers_table, campaign_stats
from backend.store.items import NewItem, add_items
from tests.store.conftest import make_campaign, served_token


@pytest.fixture
def replicas(database_url, tmp_path):
    """Two replicas of one database, each with its own data directory."""
    media = None if not database_url.startswith("sqlite") else "database"
    first = Database(database_url, tmp_path / "replica-1", media=media)
    second = Database(database_url, tmp_path / "replica-2", media=media)
    yield first, second
    first.dispose()
    second.dispose()


def test_ids_tokens_and_campaigns_of_one_replica_work_on_the_other(replicas, campaign_files):
    one, two = replicas
    info = make_campaign(one, campaign_files, gold=True, gold_rate=0.3)  # created through replica 1
    voter = issue_annotator_id(one)  # issued by replica 1 (the key is kept in the database)
    acks = []
    for k in range(12):
        serving, answering = (one, two) if k % 2 == 0 else (two, one)
        served = pairwise.next_pair(info.name, voter, db=serving)
        acks.append(pairwise.vote(info.name, voter, served.pair_id, "left", f"alt-{k}", db=answering))
        assert acks[-1]["status"] == "stored"
        retry = pairwise.vote(info.name, voter, served.pair_id, "left", f"alt-{k}", db=serving)
        assert retry["status"] == "duplicate" and retry["id"] == acks[-1]["id"]
        for image in (served.left_image, served.right_image):  # either replica holds every image
            sha256 = image[-68:-4]
            assert one.media.get(sha256) == two.media.get(sha256)
    for db in replicas:  # the export of either replica is complete
        table = answers_table(info.name, db)
        assert sorted(table["vote_id"]) == sorted(a["id"] for a in acks)


def test_items_added_through_one_replica_are_served_and_answered_through_the_other(replicas, campaign_files, tmp_path):
    one, two = replicas
    info = make_campaign(one, campaign_files, kind="rating")
    voter = issue_annotator_id(two)
    rating.next_item(info.name, voter, db=two)  # replica 2 caches the campaign
    new = np.full((24, 24, 3), (10, 200, 90), np.uint8)
    added = add_items(info.name, [NewItem(new, "added-group", "fresh")], db=one)["added"][0]

    # Replica 1 serves the new item at once; replica 2, whose cache is older, accepts the answer to it ...
    served = next(s for s in (rating.next_item(info.name, voter, db=one) for _ in range(200))
                  if served_token(info, s.item_id, voter.split(".")[0]).item_ids == (added["item_id"],))
    ack = rating.rate(info.name, voter, served.item_id, 4, uuid.uuid4().hex, db=two)
    assert ack["status"] == "stored"
    # ... and its export and statistics include it, though its cached copy predates the item
    assert "added-group/fresh" in set(answers_table(info.name, two)["item"])
    assert campaign_stats(info.name, two)["items"] == len(info.ordinary_ids) + 1
    assert two.media.get(added["sha256"])  # the new image, stored through replica 1

    # Replica 2 serves the new item itself once its cache expires (CACHE_SECONDS), here forced
    two.campaign_cache[info.name] = (time.monotonic() - 1, two.campaign_cache[info.name][1])
    assert added["item_id"] in campaigns.get_campaign(info.name, two).items


def test_closing_through_one_replica_reaches_the_other_within_the_cache_time(replicas, campaign_files, monkeypatch):
    one, two = replicas
    info = make_campaign(one, campaign_files)
    voter = issue_annotator_id(one)
    pairwise.next_pair(info.name, voter, db=two)
    monkeypatch.setattr(campaigns, "CACHE_SECONDS", 0.5)
    two.campaign_cache.clear()
    pairwise.next_pair(info.name, voter, db=two)
    campaigns.set_open(info.name, False, db=one)
    time.sleep(0.6)
    with pytest.raises(InputError, match="is closed"):
        pairwise.next_pair(info.name, voter, db=two)
