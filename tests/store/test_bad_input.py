"""(c) Bad input gets one clear sentence (InputError) and changes nothing that is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from backend.errors import InputError
from backend.store import pairwise, rating, tokens
from backend.store.campaigns import (
    CampaignSettings,
    create_campaign,
    create_campaign_from_archive,
    get_campaign,
)
from backend.store.models import metadata
from tests.store.conftest import annotator, make_campaign


def snapshot(db) -> dict:
    """Row counts of every table and the stored image files."""
    with db.reading() as session:
        counts = {name: session.exec(select(func.count()).select_from(table)).one() for name, table in metadata.tables.items()}
    return {"rows": counts, "images": db.media.hashes()}


@pytest.fixture
def campaigns(db, campaign_files):
    """A pairwise campaign without ties, a second pairwise campaign and a rating campaign, each served once."""
    make_campaign(db, campaign_files, name="main")
    make_campaign(db, campaign_files, name="other")
    make_campaign(db, campaign_files, name="mos", kind="rating")
    alice = annotator(db, "alice")
    served = {
        "main": pairwise.next_pair("main", alice, db=db),
        "other": pairwise.next_pair("other", alice, db=db),
        "mos": rating.next_item("mos", alice, db=db),
    }
    pairwise.vote("main", alice, pairwise.next_pair("main", alice, db=db).pair_id, "left", "first", db=db)
    return served


def _cases(db, served, campaign_files, tmp_path):
    """(call, expected message) for every kind of bad input."""
    pair, other, item = served["main"].pair_id, served["other"].pair_id, served["mos"].item_id
    main_info, other_info = get_campaign("main", db), get_campaign("other", db)
    foreign_item = other_info.ordinary_ids[0]
    # a token correctly signed for "main" that names an item of "other" (as if a bug served it)
    forged = tokens.issue(main_info.secret, "alice", "p", main_info.id, (main_info.ordinary_ids[0], foreign_item))
    altered = pair[:20] + ("B" if pair[20] == "A" else "A") + pair[21:]  # one sealed byte edited: the tag fails
    alice, bob = annotator(db, "alice"), annotator(db, "bob")
    edited_id = alice[:-1] + ("B" if alice[-1] == "A" else "A")
    vote = lambda *a, **k: lambda: pairwise.vote(*a, db=db, **k)  # noqa: E731
    rate = lambda *a: lambda: rating.rate(*a, db=db)  # noqa: E731
    (tmp_path / "notes.txt").write_text("not an image")
    (campaign_files["root"] / "plain.csv").write_text("path,group,method\nnotes.txt,g,a\nastronaut/warm.png,g,b\n")
    (campaign_files["root"] / "notes.txt").write_text("not an image")
    (campaign_files["root"] / "short.csv").write_text("path,method\nastronaut/warm.png,a\n")
    return {
        "unknown campaign (vote)": (vote("nope", alice, pair, "left", "c1"), "no campaign 'nope'"),
        "unknown campaign (next pair)": (lambda: pairwise.next_pair("nope", alice, db=db), "no campaign 'nope'"),
        "unknown campaign (rate)": (rate("nope", alice, item, 3, "c1"), "no campaign 'nope'"),
        "empty campaign": (vote("", alice, pair, "left", "c1"), "No campaign was given"),
        "pair of another campaign": (vote("main", alice, other, "left", "c1"), "another campaign"),
        "item of another campaign": (vote("main", alice, forged, "left", "c1"), "not part of campaign 'main'"),
        "altered pair id": (vote("main", alice, altered, "left", "c1"), "not served by campaign 'main'"),
        "pair of another annotator": (vote("main", bob, pair, "left", "c1"), "not served by campaign 'main'"),
        "malformed pair id": (vote("main", alice, "p1.2-3.garbage", "left", "c1"), "malformed"),
        "missing pair id": (vote("main", alice, None, "left", "c1"), "malformed"),
        "item id as pair id": (vote("mos", alice, pair, "left", "c1"), "rating campaign"),
        "malformed choice": (vote("main", alice, pair, "up", "c1"), "not valid"),
        "numeric choice": (vote("main", alice, pair, 1, "c1"), "not valid"),
        "missing choice": (vote("main", alice, pair, None, "c1"), "not valid"),
        "tie not allowed": (vote("main", alice, pair, "tie", "c1"), "does not allow ties"),
        "malformed client id": (vote("main", alice, pair, "left", "has space"), "client vote id"),
        "missing client id": (vote("main", alice, pair, "left", ""), "client vote id"),
        "client id reused for another pair": (vote("main", alice, pair, "left", "first"), "already used"),
        "missing annotator": (vote("main", "", pair, "left", "c1"), "annotator id is missing; get one from POST"),
        "made-up annotator": (vote("main", "alice", pair, "left", "c1"), "not issued by this server"),
        "edited annotator id": (vote("main", edited_id, pair, "left", "c1"), "not issued by this server"),
        "annotator id claiming a login": (vote("main", "hf:alice.AAAAAAAAAAAAAAAAAAAAAA", pair, "left", "c1"),
                                          "not issued by this server"),
        "annotator id of a number": (vote("main", 12345, pair, "left", "c1"), "not issued by this server"),
        "rating huge": (rate("mos", alice, item, 10**400, "c1"), "from 1"),
        "rating nan": (rate("mos", alice, item, float("nan"), "c1"), "from 1"),
        "rating inf": (rate("mos", alice, item, float("inf"), "c1"), "from 1"),
        "choice huge": (vote("main", alice, pair, 10**5000, "c1"), "not valid"),
        "campaign with NUL": (vote("ma\x00in", alice, pair, "left", "c1"), "no campaign"),
        "campaign with a lone surrogate": (vote("ma\ud800in", alice, pair, "left", "c1"), "no campaign"),
        "rating 0": (rate("mos", alice, item, 0, "c1"), "from 1"),
        "rating 6": (rate("mos", alice, item, 6, "c1"), "from 1"),
        "rating 3.5": (rate("mos", alice, item, 3.5, "c1"), "from 1"),
        "rating text": (rate("mos", alice, item, "five", "c1"), "from 1"),
        "rating bool": (rate("mos", alice, item, True, "c1"), "from 1"),
        "rating missing": (rate("mos", alice, item, None, "c1"), "from 1"),
        "rating with a pair id": (rate("mos", alice, pair, 3, "c1"), "another campaign|malformed"),
        "vote on a rating campaign": (vote("mos", alice, item, "left", "c1"), "rating campaign"),
        "manifest without columns": (lambda: create_campaign("new", campaign_files["root"] / "short.csv",
                                                             CampaignSettings("pairwise"), db=db), "lacks column"),
        "unsupported upload in manifest": (lambda: create_campaign("new", campaign_files["root"] / "plain.csv",
                                                                   CampaignSettings("pairwise"), db=db), "not an image"),
        "unsupported archive": (lambda: create_campaign_from_archive("new", tmp_path / "notes.txt",
                                                                     CampaignSettings("pairwise"), db=db), "not a .zip"),
        "unknown kind": (lambda: create_campaign("new", campaign_files["manifest"], CampaignSettings("ranking"), db=db),
                         "not supported"),
    }


def test_every_bad_input_gets_a_sentence_and_changes_nothing(db, campaigns, campaign_files, tmp_path):
    cases = _cases(db, campaigns, campaign_files, tmp_path)
    before = snapshot(db)
    for name, (call, message) in cases.items():
        with pytest.raises(InputError, match=message) as caught:
            call()
        text = str(caught.value)
        assert text.endswith((".", "!")) and "\n" not in text and "Traceback" not in text, (name, text)
        assert snapshot(db) == before, name
    # and the good versions of the same calls still work afterwards
    alice = annotator(db, "alice")
    assert pairwise.vote("main", alice, campaigns["main"].pair_id, "left", "c1", db=db)["status"] == "stored"
    assert rating.rate("mos", alice, campaigns["mos"].item_id, "3", "c2", db=db)["status"] == "stored"
