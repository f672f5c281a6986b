"""Crowd-worker sessions (issue #22): "n of N", pairs that do not repeat before all were seen, skip and undo
stored as corrections (never a deleted answer), completion code, and undone answers left out of the scores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from backend.errors import InputError
from backend.store import session as sessions
from backend.store.models import Comparison, Rating
from tests.store.conftest import annotator, make_campaign, served_token


def test_pairs_cover_the_campaign_before_any_repeats_and_progress_is_n_of_n(db, campaign_files):
    info = make_campaign(db, campaign_files, name="cover")
    worker = annotator(db, "worker-cover")
    pairs = sessions.distinct_pairs(info)
    assert len(pairs) == 18  # 3 groups x C(4, 2)
    served = sessions.serve_next("cover", worker, db=db)
    seen = []
    for step in range(18):
        assert served.progress.text == f"{step} of 18"
        opened = served_token(info, served.pair.pair_id, "worker-cover")
        seen.append(tuple(sorted(opened.item_ids)))
        _, served = sessions.answer_and_next("cover", worker, served.pair.pair_id, "left", db=db)
    assert sorted(seen) == sorted(pairs)  # every pair once, none twice
    assert served.progress.finished and served.pair is None and served.progress.text == "18 of 18"


def test_target_code_and_redirect(db, campaign_files):
    make_campaign(db, campaign_files, name="prolific")
    sessions.set_session_settings("prolific", sessions.check_settings(
        3, "C0DE-42", "https://app.prolific.com/submissions/complete?cc=C0DE-42"), db=db)
    worker = annotator(db, "worker-prolific")
    served = sessions.serve_next("prolific", worker, db=db)
    for _ in range(3):
        _, served = sessions.answer_and_next("prolific", worker, served.pair.pair_id, "right", db=db)
    assert served.progress.finished and served.progress.text == "3 of 3"
    assert served.progress.completion_code == "C0DE-42" and served.progress.redirect_url.startswith("https://")
    for bad in ({"target_answers": -1}, {"target_answers": 2.5}, {"completion_code": "no spaces please"},
                {"redirect_url": "javascript:alert(1)"}, {"redirect_url": "http://insecure.example"}):
        with pytest.raises(InputError):
            sessions.check_settings(**bad)


def test_undo_is_a_correction_and_serves_the_same_pair_again(db, campaign_files):
    info = make_campaign(db, campaign_files, name="undo")
    worker = annotator(db, "worker-undo")
    with pytest.raises(InputError, match="no answer to undo"):
        sessions.undo_last("undo", worker, db=db)
    served = sessions.serve_next("undo", worker, db=db)
    first = served_token(info, served.pair.pair_id, "worker-undo").item_ids
    _, served = sessions.answer_and_next("undo", worker, served.pair.pair_id, "left", db=db)
    assert served.progress.answered == 1
    again = sessions.undo_last("undo", worker, db=db)
    assert served_token(info, again.pair.pair_id, "worker-undo").item_ids == first  # same sides, new token
    assert again.progress.answered == 0
    with db.reading() as session:
        assert session.exec(select(func.count()).select_from(Comparison)).one() == 1  # the row is kept
    assert len(sessions.undone_answer_ids(db, info)) == 1
    _, served = sessions.answer_and_next("undo", worker, again.pair.pair_id, "right", db=db)
    assert served.progress.answered == 1
    # a late undo is refused
    with db.writing() as session:
        for row in session.exec(select(Comparison)).all():
            row.created_at = row.created_at - timedelta(seconds=sessions.UNDO_SECONDS + 5)
            session.add(row)
    with pytest.raises(InputError, match="more than"):
        sessions.undo_last("undo", worker, db=db)


def test_skip_stores_a_correction_and_undone_ratings_leave_the_mos(db, campaign_files):
    from backend.campaign_scores import judgments

    info = make_campaign(db, campaign_files, name="skip-mos", kind="rating")
    worker = annotator(db, "worker-skip")
    served = sessions.serve_next("skip-mos", worker, db=db)
    skipped = sessions.skip("skip-mos", worker, served.item.item_id, db=db)
    assert skipped.item is not None and skipped.progress.answered == 0
    _, served = sessions.answer_and_next("skip-mos", worker, skipped.item.item_id, 5, db=db)
    assert served.progress.text == f"1 of {len(info.ordinary_ids)}"
    sessions.undo_last("skip-mos", worker, db=db)
    with db.reading() as session:
        assert session.exec(select(func.count()).select_from(Rating)).one() == 1
        kinds = sorted(row.kind for row in session.exec(select(sessions.AnswerCorrection)).all())
    assert kinds == ["skip", "undo"]
    _, answers_left, _ = judgments("skip-mos", db)
    assert answers_left.empty  # the undone rating counts nowhere
