"""Gold checks that cannot be passed without looking, and identities that cannot be borrowed (issue 20, part B).

Both run through the JSON API in this process (``rest_client``: the routes and services the app serves), on
SQLite and PostgreSQL, and look only at what a client sees: annotator ids, opaque pair ids, image URLs.
"""

from __future__ import annotations

import re
import uuid

import numpy as np
import pytest
from PIL import Image
from scipy import stats
from sqlmodel import select

from backend.leaderboard import annotator_qc
from backend.store.campaigns import CampaignSettings, create_campaign, get_campaign
from backend.store.models import Annotator
from backend.store.quality import gold_accuracy
from tests.store.conftest import make_campaign, served_token

API = "/annotate/v1"
GOLD_PAIRS = 100
ANSWERS = 100


def gold_campaign(db, folder, name: str = "gold"):
    """A pairwise campaign serving only gold pairs: ``GOLD_PAIRS`` pairs of random-noise images (new ones each
    run, so nothing about their files is fixed), the better one listed first in gold.csv as the format asks."""
    rng = np.random.default_rng()
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(2):  # the ordinary items (never served at gold rate 1)
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(folder / f"item{k}.png")
    (folder / "manifest.csv").write_text("path,group,method\nitem0.png,g,a\nitem1.png,g,b\n")
    lines = ["better,worse"]
    for k in range(GOLD_PAIRS):
        for side in ("better", "worse"):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(folder / f"{side}{k}.png")
        lines.append(f"better{k}.png,worse{k}.png")
    (folder / "gold.csv").write_text("\n".join(lines) + "\n")
    return create_campaign(name, folder / "manifest.csv", CampaignSettings("pairwise", gold_rate=1.0),
                           gold=folder / "gold.csv", db=db)


def new_id(client) -> str:
    response = client.post(f"{API}/annotators")
    assert response.status_code == 201, response.text
    return response.json()["annotator_id"]


def numbers_in(pair_id: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", pair_id.split(".", 1)[1])]


# Strategies of someone answering without looking: each gets what a client sees and its own history.
STRATEGIES = {
    "always left": lambda served, history: "left",
    "always right": lambda served, history: "right",
    "same side as last time": lambda served, history: history[-1] if history else "left",
    "alternate": lambda served, history: "right" if history and history[-1] == "left" else "left",
    # the attack of the issue, against today's pair ids: the lower of the first two numbers in the id
    "lower id in the pair id": lambda served, history: (
        "left" if len(numbers_in(served["pair_id"])) < 2 or numbers_in(served["pair_id"])[0]
        <= numbers_in(served["pair_id"])[1] else "right"),
    "lower image URL": lambda served, history: "left" if served["left_image"] < served["right_image"] else "right",
}


def test_gold_cannot_be_passed_without_looking(rest_client, tmp_path):
    client, db = rest_client
    info = gold_campaign(db, tmp_path / "gold")
    # ids in random order: the better image's item id is not systematically the lower one
    lower = sum(gold.item_id < gold.other_item_id for gold in info.golds.values())
    assert stats.binomtest(lower, GOLD_PAIRS).pvalue > 1e-4, lower
    seen_ids: set[int] = set()
    for name, strategy in STRATEGIES.items():
        annotator_id = new_id(client)
        history: list[str] = []
        for _ in range(ANSWERS):
            served = client.get(f"{API}/campaigns/gold/next_pair", params={"annotator_id": annotator_id}).json()
            assert set(served) == {"campaign", "pair_id", "left_image", "right_image", "progress"}
            assert re.fullmatch(rf"p{info.id}\.[A-Za-z0-9_-]{{64}}", served["pair_id"])  # opaque, one length
            seen_ids.add(served_token(info, served["pair_id"], annotator_id.rsplit(".", 1)[0]).gold_id)
            choice = strategy(served, history)
            history.append(choice)
            ack = client.post(f"{API}/vote", json={"campaign": "gold", "annotator_id": annotator_id, "choice": choice,
                                                   "pair_id": served["pair_id"], "client_vote_id": uuid.uuid4().hex})
            assert ack.status_code == 200, ack.text
        key = annotator_id.rsplit(".", 1)[0]
        answered, right = gold_accuracy(db, get_campaign("gold", db))[key]
        assert answered == ANSWERS
        # at chance: a two-sided binomial test at 1e-4 (so ~1 false alarm in 10,000 runs per strategy)
        assert stats.binomtest(right, ANSWERS).pvalue > 1e-4, (name, right)
    assert len(seen_ids) > GOLD_PAIRS // 2  # many different gold pairs were served


def flag_campaign(db, campaign_files):
    return make_campaign(db, campaign_files, name="guarded", gold=True, gold_rate=1.0, gold_min_accuracy=0.8)


def answer_gold(client, info, annotator_id: str, count: int, correct: bool, prefix: str) -> list[int]:
    """``count`` gold answers, right or wrong (the test opens the sealed pair id as only the server can)."""
    statuses = []
    key = annotator_id.rsplit(".", 1)[0]
    better = next(iter(info.golds.values())).item_id
    for step in range(count):
        served = client.get(f"{API}/campaigns/{info.name}/next_pair", params={"annotator_id": annotator_id}).json()
        left = served_token(info, served["pair_id"], key).item_ids[0]
        choice = "left" if (left == better) == correct else "right"
        statuses.append(client.post(f"{API}/vote", json={
            "campaign": info.name, "annotator_id": annotator_id, "pair_id": served["pair_id"], "choice": choice,
            "client_vote_id": f"{prefix}-{step}"}).status_code)
    return statuses


def flagged(db, key: str) -> bool:
    with db.reading() as session:
        return session.exec(select(Annotator.flagged).where(Annotator.key == key)).one()


def test_nobody_can_answer_as_someone_else_or_get_them_flagged(rest_client, campaign_files):
    client, db = rest_client
    info = flag_campaign(db, campaign_files)
    victim = new_id(client)
    victim_key = victim.rsplit(".", 1)[0]
    assert answer_gold(client, info, victim, 5, True, "victim") == [200] * 5
    # what the public sees of the victim: a pseudonym, never the key or the id
    public = annotator_qc("guarded", db)
    assert victim_key not in set(public["annotator"]) and victim not in public.to_string()
    pseudonym = public["annotator"].iloc[0]
    attacker = new_id(client)
    served_to_victim = client.get(f"{API}/campaigns/guarded/next_pair", params={"annotator_id": victim}).json()
    forged_ids = {
        "the victim's key": victim_key,
        "the victim's pseudonym": pseudonym,
        "the victim's key with the attacker's signature": f"{victim_key}.{attacker.rsplit('.', 1)[1]}",
        "a made-up id": "anon-0123456789abcdef0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAA",
        "a login name": "hf:victim",
    }
    for what, forged in forged_ids.items():
        response = client.get(f"{API}/campaigns/guarded/next_pair", params={"annotator_id": forged})
        assert response.status_code == 403 and "/annotate/v1/annotators" in response.json()["error"], what
        response = client.post(f"{API}/vote", json={"campaign": "guarded", "annotator_id": forged, "choice": "left",
                                                    "pair_id": served_to_victim["pair_id"], "client_vote_id": what})
        assert response.status_code == 403, (what, response.text)
    # the attacker's own genuine id cannot answer a pair served to the victim
    stolen = client.post(f"{API}/vote", json={"campaign": "guarded", "annotator_id": attacker, "choice": "left",
                                              "pair_id": served_to_victim["pair_id"], "client_vote_id": "stolen"})
    assert stolen.status_code == 400 and "served to someone else" in stolen.json()["error"]
    # nineteen wrong gold answers under the attacker's id flag the attacker, not the victim
    assert answer_gold(client, info, attacker, 19, False, "attacker") == [200] * 19
    assert flagged(db, attacker.rsplit(".", 1)[0]) and not flagged(db, victim_key)
    accuracy = gold_accuracy(db, get_campaign("guarded", db))
    assert accuracy[victim_key] == (5, 5) and accuracy[attacker.rsplit(".", 1)[0]] == (19, 0)


def test_issued_ids_are_stateless_and_rows_wait_for_an_answer(rest_client, campaign_files):
    """Any process with the same database accepts an id (the key is in the database); serving pairs to 50 fresh
    ids writes no annotator rows (issue 20: 4,000 rows in 13 s)."""
    from backend.store.annotators import verified_key
    from backend.store.db import Database

    client, db = rest_client
    make_campaign(db, campaign_files, name="rows")
    ids = [new_id(client) for _ in range(50)]
    other_process = Database(db.url, db.data_dir)  # another replica of the same database
    try:
        assert all(verified_key(other_process, i) == i.rsplit(".", 1)[0] for i in ids)
    finally:
        other_process.dispose()
    with db.reading() as session:
        before = len(session.exec(select(Annotator.id)).all())
    for annotator_id in ids:
        assert client.get(f"{API}/campaigns/rows/next_pair", params={"annotator_id": annotator_id}).status_code == 200
    with db.reading() as session:
        assert len(session.exec(select(Annotator.id)).all()) == before


@pytest.mark.parametrize("first", ["operator-secret-0123456789", None])
def test_ids_of_another_key_are_refused(rest_client, campaign_files, settings_env, first):
    """Setting or changing HARMONYLAB_BROWSER_SECRET (rotating the key) makes the ids of the old key unusable."""
    client, db = rest_client
    settings_env(HARMONYLAB_BROWSER_SECRET=first)  # None: the key generated and kept in the database
    make_campaign(db, campaign_files, name="rotate")
    old = new_id(client)
    assert client.get(f"{API}/campaigns/rotate/next_pair", params={"annotator_id": old}).status_code == 200
    settings_env(HARMONYLAB_BROWSER_SECRET="another-secret-abcdefghijkl")
    refused = client.get(f"{API}/campaigns/rotate/next_pair", params={"annotator_id": old})
    assert refused.status_code == 403
    assert client.get(f"{API}/campaigns/rotate/next_pair", params={"annotator_id": new_id(client)}).status_code == 200
