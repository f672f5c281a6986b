"""Quality control: gold pairs and items, gold accuracy and flags, daily caps, minimum response time, samplers."""

from __future__ import annotations

import time

import numpy as np
import pytest

from backend.errors import InputError
from backend.store import pairwise, rating
from backend.store.annotators import set_flag
from backend.store.campaigns import get_campaign, set_open
from backend.store.export import answers_table, campaign_stats, win_matrix
from backend.store.quality import MIN_GOLD_ANSWERS, gold_accuracy
from tests.store.conftest import annotator, make_campaign, served_token


def answer_pairs(db, campaign, key, count, choose, prefix):
    """Serve and answer ``count`` pairs as annotator ``key``; ``choose(served, info, key)`` returns left/right/tie."""
    info = get_campaign(campaign, db)
    for step in range(count):
        served = pairwise.next_pair(campaign, annotator(db, key), db=db)
        pairwise.vote(campaign, annotator(db, key), served.pair_id, choose(served, info, key), f"{prefix}-{step}", db=db)


def gold_choice(right: bool):
    """Choose the gold pair's better image (or, when ``right`` is False, the worse one): the test opens the
    sealed pair id with the campaign's secret, as only the server can."""
    def choose(served, info, key):
        left_id = served_token(info, served.pair_id, key).item_ids[0]
        better = next(iter(info.golds.values())).item_id
        return "left" if (left_id == better) == right else "right"

    return choose


def test_gold_pairs_at_rate_one_accuracy_and_automatic_flag(db, campaign_files):
    make_campaign(db, campaign_files, gold=True, gold_rate=1.0, gold_min_accuracy=0.8)
    answer_pairs(db, "study", "careful", MIN_GOLD_ANSWERS, gold_choice(True), "c")
    answer_pairs(db, "study", "sloppy", MIN_GOLD_ANSWERS, gold_choice(False), "s")
    info = get_campaign("study", db)
    assert gold_accuracy(db, info) == {"careful": (5, 5), "sloppy": (5, 0)}
    table = answers_table("study", db)
    assert table["gold"].all() and table.groupby("annotator")["gold_correct"].all().to_dict() == {"careful": True, "sloppy": False}
    assert table.groupby("annotator")["annotator_flagged"].first().to_dict() == {"careful": False, "sloppy": True}
    stats = campaign_stats("study", db)
    assert stats["flagged_annotators"] == 1 and stats["gold_answered"] == 10 and stats["gold_correct"] == 5
    assert stats["answers_aggregated"] == 0  # gold answers never enter aggregation


def test_gold_rate_mixes_gold_pairs_in_at_about_that_rate(db, campaign_files):
    make_campaign(db, campaign_files, gold=True, gold_rate=0.25)
    info = get_campaign("study", db)
    tokens = [pairwise.next_pair("study", annotator(db, "a"), db=db).pair_id for _ in range(400)]
    assert len({len(t) for t in tokens}) == 1  # gold and ordinary pair ids look alike
    golds = sum(served_token(info, t, "a").gold_id is not None for t in tokens)
    assert 60 <= golds <= 140  # binomial(400, 0.25): mean 100, sd 8.7
    assert info.golds


def test_flagged_annotators_stay_in_raw_data_but_not_in_aggregation(db, campaign_files):
    make_campaign(db, campaign_files)
    answer_pairs(db, "study", "good", 6, lambda s, i, k: "left", "g")
    answer_pairs(db, "study", "spammer", 6, lambda s, i, k: "right", "s")
    info = get_campaign("study", db)
    assert win_matrix(db, info).sum() == 12
    set_flag("spammer", True, "always right", db=db)
    assert win_matrix(db, info).sum() == 6 and win_matrix(db, info, include_flagged=True).sum() == 12
    assert len(answers_table("study", db)) == 12 and len(answers_table("study", db, include_flagged=False)) == 6
    assert campaign_stats("study", db)["answers_aggregated"] == 6
    with pytest.raises(InputError, match="no annotator"):
        set_flag("nobody", db=db)


def test_daily_cap_stops_serving_and_answering(db, campaign_files):
    make_campaign(db, campaign_files, daily_cap=3)
    served = [pairwise.next_pair("study", annotator(db, "eager"), db=db) for _ in range(4)]
    for step in range(3):
        pairwise.vote("study", annotator(db, "eager"), served[step].pair_id, "left", f"e{step}", db=db)
    with pytest.raises(InputError, match="daily cap"):
        pairwise.next_pair("study", annotator(db, "eager"), db=db)
    with pytest.raises(InputError, match="daily cap"):
        pairwise.vote("study", annotator(db, "eager"), served[3].pair_id, "left", "e3", db=db)
    # the retry of the vote that reached the cap is still acknowledged, as a duplicate
    assert pairwise.vote("study", annotator(db, "eager"), served[2].pair_id, "left", "e2", db=db)["status"] == "duplicate"
    assert pairwise.next_pair("study", annotator(db, "someone-else"), db=db).progress.total == 0
    ack, nothing, reason = pairwise.answer_and_next("study", annotator(db, "someone-else"), pairwise.next_pair(
        "study", annotator(db, "someone-else"), db=db).pair_id, "right", db=db)
    assert ack["status"] == "stored" and nothing is not None and reason == ""


def test_minimum_response_time_refuses_hasty_answers(db, campaign_files):
    make_campaign(db, campaign_files, min_response_ms=300)
    served = pairwise.next_pair("study", annotator(db, "hasty"), db=db)
    with pytest.raises(InputError, match="faster than"):
        pairwise.vote("study", annotator(db, "hasty"), served.pair_id, "left", "h1", db=db)
    assert answers_table("study", db).empty
    time.sleep(0.35)
    ack = pairwise.vote("study", annotator(db, "hasty"), served.pair_id, "left", "h1", db=db)
    assert ack["status"] == "stored" and ack["response_ms"] >= 300


def test_rating_gold_each_image_rated_once_and_closed_campaigns(db, campaign_files):
    make_campaign(db, campaign_files, name="mos", kind="rating")
    info = get_campaign("mos", db)
    for step in range(len(info.ordinary_ids)):
        served = rating.next_item("mos", annotator(db, "rater"), db=db)
        rating.rate("mos", annotator(db, "rater"), served.item_id, 1 + step % 5, f"r{step}", db=db)
    with pytest.raises(InputError, match="rated every image"):
        rating.next_item("mos", annotator(db, "rater"), db=db)
    table = answers_table("mos", db)
    assert table["item"].is_unique and len(table) == 12
    set_open("mos", False, db=db)
    with pytest.raises(InputError, match="closed"):
        rating.next_item("mos", annotator(db, "other"), db=db)


def test_rating_gold_accuracy(db, campaign_files):
    make_campaign(db, campaign_files, name="mos", kind="rating", gold=True, gold_rate=1.0)
    for step, score in enumerate([1, 2, 5]):
        served = rating.next_item("mos", annotator(db, "rater"), db=db)
        rating.rate("mos", annotator(db, "rater"), served.item_id, score, f"g{step}", db=db)
    assert gold_accuracy(db, get_campaign("mos", db)) == {"rater": (3, 2)}


@pytest.mark.parametrize("sampler", ["uniform", "eig", "eig-approx"])
def test_samplers_serve_pairs_within_a_group(db, campaign_files, sampler):
    make_campaign(db, campaign_files, sampler=sampler)
    info = get_campaign("study", db)
    group_of = {i: item.group for i, item in info.items.items()}
    pairs = []
    for step in range(12):
        served = pairwise.next_pair("study", annotator(db, "a"), db=db)
        left, right = served_token(info, served.pair_id, "a").item_ids
        assert left != right and group_of[left] == group_of[right]
        pairs.append((left, right))
        pairwise.vote("study", annotator(db, "a"), served.pair_id, "left" if step % 2 else "right", f"s{step}", db=db)
    assert len(set(pairs)) > 1
    assert np.isclose(win_matrix(db, info).sum(), 12)


def test_hugging_face_login_is_the_identity_when_present(db, campaign_files):
    make_campaign(db, campaign_files)
    served = pairwise.next_pair("study", "ignored-anonymous-id", hf_user="alice", db=db)  # the login wins
    pairwise.vote("study", "ignored-anonymous-id", served.pair_id, "left", "hf-1", hf_user="alice", db=db)
    with pytest.raises(InputError, match="not served .* to this annotator"):  # the pair was served to hf:alice
        pairwise.vote("study", annotator(db, "ignored-anonymous-id"), served.pair_id, "left", "hf-2", db=db)
    table = answers_table("study", db)
    assert table[["annotator", "annotator_kind"]].values.tolist() == [["hf:alice", "huggingface"]]
