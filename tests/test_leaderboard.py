"""Leaderboard service: rankings with CI-respecting ranks, win rates, QC, and models vs simulated people."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from PIL import Image

from backend import leaderboard
from backend.errors import InputError
from backend.store.annotators import sign
from tests.conftest import noisy, sample_photo

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field")
NOISE = {"clean": 2.0, "mild": 14.0, "strong": 40.0}  # true quality: clean > mild > strong


@pytest.fixture
def database(tmp_path):
    from backend.store.db import Database

    db = Database(None, tmp_path / "data")
    yield db
    db.dispose()


def build_campaign(db, tmp_path, kind: str):
    from backend.store.campaigns import CampaignSettings, create_campaign

    root = tmp_path / "campaign"
    rows = ["path,group,method,reference"]
    for photo in PHOTOS:
        reference = sample_photo(photo)[:192, :192].copy()
        (root / photo).mkdir(parents=True)
        Image.fromarray(reference).save(root / photo / "reference.png")
        for k, (method, sigma) in enumerate(NOISE.items()):
            Image.fromarray(noisy(reference, sigma, seed=k)).save(root / photo / f"{method}.png")
            rows.append(f"{photo}/{method}.png,{photo},{method},{photo}/reference.png")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    name = f"lb-{kind}-{uuid.uuid4().hex[:6]}"
    info = create_campaign(name, root / "manifest.csv", CampaignSettings(kind=kind, allow_tie=kind == "pairwise"), db=db)
    return name, {db.media.file(item.sha256): item for item in info.items.values()}


def simulate_pairwise(db, name, items, votes=240, seed=0):
    """Observers prefer the less noisy image (Thurstone noise), one in 20 answers a tie."""
    from backend.store import pairwise

    rng = np.random.default_rng(seed)
    quality = {"clean": 1.5, "mild": 0.5, "strong": -1.5}
    annotators = [sign(db, f"sim-{k}") for k in range(8)]  # ids as the server issues them
    for k in range(votes):
        annotator = annotators[k % 8]
        served = pairwise.next_pair(name, annotator, db=db)
        left, right = items[served.left_image].method, items[served.right_image].method
        diff = quality[left] - quality[right] + rng.normal(0, 1.0)
        choice = "tie" if rng.random() < 0.05 else ("left" if diff > 0 else "right")
        pairwise.vote(name, annotator, served.pair_id, choice, uuid.uuid4().hex, db=db)


def test_pairwise_ranking_win_rates_and_models(database, tmp_path):
    name, items = build_campaign(database, tmp_path, "pairwise")
    with pytest.raises(InputError, match="no answers yet"):
        leaderboard.method_ranking(name, db=database)
    simulate_pairwise(database, name, items)
    ranking = leaderboard.method_ranking(name, "bt", n_bootstrap=100, db=database)
    assert list(ranking["method"]) == ["clean", "mild", "strong"]
    assert ranking.loc[0, "rank"] == "1" and (ranking["ci_low"] <= ranking["score"]).all()
    assert ranking["n"].sum() > 0
    thurstone = leaderboard.method_ranking(name, "thurstone", n_bootstrap=50, db=database)
    assert list(thurstone["method"]) == ["clean", "mild", "strong"]
    rates = leaderboard.win_rates(name, db=database)
    assert rates.loc["clean", "strong"] > 0.8 and rates.loc["strong", "clean"] < 0.2
    assert np.allclose((rates + rates.T).to_numpy()[~np.eye(3, dtype=bool)], 1.0)
    qc = leaderboard.annotator_qc(name, db=database, pseudonyms=False)
    assert set(qc["annotator"]) == {f"sim-{k}" for k in range(8)} and qc["answers"].sum() == 240
    public = leaderboard.annotator_qc(name, db=database)  # what the page shows: pseudonyms, no keys
    assert len(set(public["annotator"])) == 8 and not set(public["annotator"]) & set(qc["annotator"])
    assert all(a.startswith("annotator-") for a in public["annotator"])
    assert public["answers"].tolist() == qc["answers"].tolist()
    for rounds in (float("nan"), float("inf"), -1, 2.5, 10**30, "many", None):
        with pytest.raises(InputError, match="bootstrap rounds"):
            leaderboard.method_ranking(name, "bt", rounds, db=database)
        with pytest.raises(InputError, match="bootstrap rounds"):
            leaderboard.models_vs_people(name, ["psnr"], rounds, db=database)
    result = leaderboard.models_vs_people(name, ["psnr", "piqe"], n_bootstrap=100, db=database)
    psnr = result.correlations.set_index("model").loc["psnr"]
    assert psnr["srcc"] > 0.7 and psnr["srcc_low"] <= psnr["srcc"] <= psnr["srcc_high"]
    assert psnr["n_items"] == len(PHOTOS) * len(NOISE)
    with pytest.raises(InputError, match="needs a foreground mask"):
        leaderboard.models_vs_people(name, ["ih-fmse"], db=database)
    with pytest.raises(InputError, match="Unknown scaling model"):
        leaderboard.method_ranking(name, "elo", db=database)


def test_rating_mos_and_ranking(database, tmp_path):
    from backend.store import rating

    name, items = build_campaign(database, tmp_path, "rating")
    rng = np.random.default_rng(1)
    base = {"clean": 4.6, "mild": 3.2, "strong": 1.4}
    for annotator in [sign(database, f"rater-{k}") for k in range(6)]:
        for _ in range(len(items)):
            served = rating.next_item(name, annotator, db=database)
            score = int(np.clip(np.rint(base[items[served.image].method] + rng.normal(0, 0.5)), 1, 5))
            rating.rate(name, annotator, served.item_id, score, uuid.uuid4().hex, db=database)
    mos = leaderboard.image_mos(name, db=database)
    assert len(mos) == len(items) and mos["mos"].between(0, 100).all()
    ranking = leaderboard.method_ranking(name, db=database)
    assert list(ranking["method"]) == ["clean", "mild", "strong"]
    assert list(ranking["rank"]) == ["1", "2", "3"]
    with pytest.raises(InputError, match="win rates need pairwise votes"):
        leaderboard.win_rates(name, db=database)
    lite = ["harmonyiqa-lite-fr", "harmonyiqa-lite-nr"]  # paper 000's offline stand-ins join the comparison
    result = leaderboard.models_vs_people(name, ["psnr", *lite], n_bootstrap=100, db=database)
    table = result.correlations.set_index("model")
    assert table.loc["psnr", "srcc"] > 0.7
    assert set(lite) <= set(table.index) and (table.loc[lite, "n_items"] == len(items)).all()
    assert np.isfinite(table.loc[lite, "srcc"].to_numpy(float)).all()


def test_rank_ranges_respect_overlap():
    best, worst = leaderboard.rank_ranges(np.array([2.0, 1.5, 0.0]), np.array([3.0, 2.5, 0.5]))
    assert list(best) == [1, 1, 3] and list(worst) == [2, 2, 3]


def test_one_annotator_and_few_votes_give_wide_intervals_never_zero_width(database, tmp_path):
    """Issue #22: one annotator with 13 votes used to give zero-width intervals and definite ranks 1-3."""
    from backend.store import pairwise

    name, items = build_campaign(database, tmp_path, "pairwise")
    solo = sign(database, "solo")
    for _ in range(13):
        served = pairwise.next_pair(name, solo, db=database)
        pairwise.vote(name, solo, served.pair_id, "left", uuid.uuid4().hex, db=database)
    for model in ("bt", "thurstone"):
        for rounds in (0, 200):
            report = leaderboard.ranking_report(name, model, rounds, db=database)
            table = report.table
            assert ((table["ci_high"] - table["ci_low"]) > 0.3).all()
            assert (table["ci_low"] <= table["score"]).all() and (table["score"] <= table["ci_high"]).all()
            assert set(table["rank"]) == {"1–3"}  # nothing can be told apart yet
            assert report.summary["answers"] == 13 and report.summary["annotators"] == 1
            assert table["annotators"].eq(1).all() and table["n"].sum() == 26
            assert "Few judgments" in report.text and "alpha" in report.text
    assert report.summary["bootstrap_unit"] == "vote" and "single votes" in report.summary["interval"]


def test_a_method_that_loses_every_vote_gets_a_finite_interval_of_a_few_units(database, tmp_path):
    """A unanimous loser has no maximum-likelihood score: with the scaling CLI's near-ML ridge its Bradley-Terry
    interval spanned hundreds of logits. The leaderboard's weak prior keeps it a few units wide, below the
    others, and still never zero width."""
    from backend.store import pairwise

    name, items = build_campaign(database, tmp_path, "pairwise")
    voters = [sign(database, f"strict-{k}") for k in range(6)]
    for k in range(60):
        served = pairwise.next_pair(name, voters[k % 6], db=database)
        left = items[served.left_image].method
        choice = ("right" if left == "strong" else "left") if "strong" in (left, items[served.right_image].method) \
            else ("left" if k % 2 else "right")
        pairwise.vote(name, voters[k % 6], served.pair_id, choice, uuid.uuid4().hex, db=database)
    for model in ("bt", "thurstone"):
        table = leaderboard.ranking_report(name, model, 100, db=database).table.set_index("method")
        widths = table["ci_high"] - table["ci_low"]
        assert np.isfinite(widths).all() and (widths > 0.3).all() and (widths < 8).all(), widths
        assert table["score"].idxmin() == "strong" and table.loc["strong", "ci_high"] < table["score"].drop("strong").min()


def test_rating_intervals_stay_on_the_scale_and_a_single_rating_spans_it(database, tmp_path):
    from backend.store import rating

    name, items = build_campaign(database, tmp_path, "rating")
    raters = [sign(database, f"few-{k}") for k in range(2)]
    served = rating.next_item(name, raters[0], db=database)
    rating.rate(name, raters[0], served.item_id, 5, uuid.uuid4().hex, db=database)
    report = leaderboard.ranking_report(name, n_bootstrap=100, db=database)
    assert report.table[["ci_low", "ci_high"]].iloc[0].tolist() == [1.0, 5.0]  # n = 1: anything is possible
    assert "1–5" in report.summary["scale"]
    rng = np.random.default_rng(3)
    for rater in raters:
        for _ in range(8):
            served = rating.next_item(name, rater, db=database)
            rating.rate(name, rater, served.item_id, int(rng.integers(2, 6)), uuid.uuid4().hex, db=database)
    for scale, (low, high) in (("rating", (1, 5)), ("mos100", (0, 100))):
        table = leaderboard.ranking_report(name, n_bootstrap=100, db=database, scale=scale).table
        assert table["ci_low"].ge(low).all() and table["ci_high"].le(high).all()
        assert ((table["ci_high"] - table["ci_low"]) > 0).all() and table["ci_low"].notna().all()
    with pytest.raises(InputError, match="Unknown MOS scale"):
        leaderboard.ranking_report(name, db=database, scale="stars")
