"""(a) Many threads voting through the service at once: exact counts, and a vote sent twice is stored once."""

from __future__ import annotations

import queue
import threading
from collections import Counter

import pytest
from sqlalchemy import func
from sqlmodel import select

from backend.store import pairwise
from backend.store.models import Annotator, Comparison
from tests.store.conftest import annotator as signed
from tests.store.conftest import make_campaign

THREADS = 16
VOTES_PER_THREAD = 500


def _run_threads(target, count: int) -> None:
    errors = []

    def guarded(index):
        try:
            target(index)
        except BaseException as error:  # surfaced below with the thread's index
            errors.append((index, error))

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]


@pytest.mark.slow
def test_sixteen_threads_exact_counts_and_duplicates_stored_once(db, campaign_files):
    make_campaign(db, campaign_files, allow_tie=True)
    resend: queue.Queue = queue.Queue()
    acks: dict[str, list[dict]] = {}
    sent = Counter()
    lock = threading.Lock()

    def send(vote):
        ack = pairwise.vote("study", *vote, db=db)
        with lock:
            acks.setdefault(vote[3], []).append(ack)

    def annotate(index):
        annotator = signed(db, f"thread-{index}")
        for step in range(VOTES_PER_THREAD):
            served = pairwise.next_pair("study", annotator, db=db)
            choice = ("left", "right", "tie")[(index + step) % 3]
            vote = (annotator, served.pair_id, choice, f"t{index}-v{step}")
            send(vote)
            with lock:
                sent[choice] += 1
            resend.put(vote)
            send(resend.get())  # a vote sent earlier, often by another thread, sent a second time

    _run_threads(annotate, THREADS)
    while not resend.empty():
        send(resend.get())

    total = THREADS * VOTES_PER_THREAD
    assert len(acks) == total and all(len(a) == 2 for a in acks.values())
    assert all(sorted(x["status"] for x in a) == ["duplicate", "stored"] for a in acks.values())
    assert all(a[0]["id"] == a[1]["id"] and a[0]["choice"] == a[1]["choice"] for a in acks.values())
    with db.reading() as session:
        assert session.exec(select(func.count()).select_from(Comparison)).one() == total
        per_annotator = session.exec(select(Annotator.key, func.count()).join(Comparison).group_by(Annotator.key)).all()
        assert sorted(n for _, n in per_annotator) == [VOTES_PER_THREAD] * THREADS
        choices = dict(session.exec(select(Comparison.choice, func.count()).group_by(Comparison.choice)).all())
    assert choices == dict(sent)


def test_the_same_vote_racing_from_eight_threads_is_stored_once(db, campaign_files):
    make_campaign(db, campaign_files)
    votes = []
    racer = signed(db, "racer")
    for step in range(100):
        served = pairwise.next_pair("study", racer, db=db)
        votes.append((racer, served.pair_id, "left" if step % 2 else "right", f"race-{step}"))
    barrier = threading.Barrier(8)
    results: list[dict] = []
    lock = threading.Lock()

    def race(index):
        barrier.wait()
        for vote in votes[index % 2::1]:
            ack = pairwise.vote("study", *vote, db=db)
            with lock:
                results.append(ack)

    _run_threads(race, 8)
    by_client = {}
    for ack in results:
        by_client.setdefault(ack["client_id"], []).append(ack)
    assert all(sum(a["status"] == "stored" for a in acks) == 1 for acks in by_client.values())
    assert all(len({a["id"] for a in acks}) == 1 for acks in by_client.values())
    with db.reading() as session:
        assert session.exec(select(func.count()).select_from(Comparison)).one() == len(votes)
