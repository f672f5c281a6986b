"""Krippendorff's alpha: the textbook example, and the vote / rating adapters of the leaderboard."""

from __future__ import annotations

import pandas as pd
import pytest

from backend.scaling.agreement import krippendorff_alpha, rating_agreement, vote_agreement

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section E: 4 observers, 12 units,
# missing values; the paper computes alpha = 0.743 (nominal) and 0.849 (interval) by hand.
TEXTBOOK = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}


def textbook_answers() -> pd.DataFrame:
    rows = [{"unit": unit, "value": value} for values in TEXTBOOK.values() for unit, value in enumerate(values)
            if value is not None]
    return pd.DataFrame(rows)


def test_textbook_example():
    answers = textbook_answers()
    nominal = krippendorff_alpha(answers["unit"], answers["value"], "nominal")
    interval = krippendorff_alpha(answers["unit"], answers["value"], "interval")
    assert nominal.alpha == pytest.approx(0.743, abs=5e-4) and interval.alpha == pytest.approx(0.849, abs=5e-4)
    assert nominal.units == 11 and nominal.values == 40  # unit 12 has one value: it carries no agreement


def test_votes_and_ratings():
    votes = pd.DataFrame({"left_item": ["a", "b", "a", "c", "c"], "right_item": ["b", "a", "c", "a", "a"],
                          "choice": ["left", "right", "right", "left", "left"]})
    perfect = vote_agreement(votes)  # a over b and c over a, whichever side each is on
    assert perfect.alpha == pytest.approx(1.0) and perfect.units == 2
    unanimous = vote_agreement(votes.assign(choice=["left", "right", "left", "right", "right"]))
    assert unanimous.alpha is None and "the same" in unanimous.note  # a single value: chance is undefined
    split = vote_agreement(votes.assign(choice=["left", "left", "left", "left", "tie"]))
    assert split.alpha < 0.5
    once = vote_agreement(votes.iloc[:1])
    assert once.alpha is None and "answered twice" in once.note
    ratings = pd.DataFrame({"item": ["x", "x", "y", "y", "z", "z"], "score": [5, 5, 1, 2, 3, 3]})
    assert rating_agreement(ratings).alpha > 0.8
    assert "answered at least twice" in rating_agreement(ratings).text
