"""API test: ``/leaderboard`` and ``/models_vs_people`` of the real app, on a campaign with simulated votes."""

from __future__ import annotations

import pytest

from tests.test_leaderboard import build_campaign, simulate_pairwise

pytestmark = pytest.mark.api


def test_leaderboard_endpoints(live_app, client, tmp_path):
    from backend.store.db import Database

    db = Database(None, live_app.data_dir)  # the app's own database (SQLite in its data directory)
    try:
        name, items = build_campaign(db, tmp_path, "pairwise")
        simulate_pairwise(db, name, items, votes=150)
    finally:
        db.dispose()
    ranking, summary, _, _, qc = client.predict(name, "bt", 100, api_name="/leaderboard")
    assert ranking["headers"] == ["rank", "method", "score", "ci_low", "ci_high", "votes", "annotators"]
    assert "150 votes" in summary and "8 annotators" in summary and "Krippendorff's alpha" in summary
    assert [row[1] for row in ranking["data"]] == ["clean", "mild", "strong"]
    assert sum(row[1] for row in qc["data"]) == 150
    assert all(row[0].startswith("annotator-") and "sim-" not in row[0] for row in qc["data"])  # pseudonyms only
    correlations, _ = client.predict(name, ["psnr"], 100, api_name="/models_vs_people")
    row = dict(zip(correlations["headers"], correlations["data"][0], strict=True))
    assert row["model"] == "psnr" and row["srcc"] > 0.5
    with pytest.raises(Exception, match="no-such-campaign"):
        client.predict("no-such-campaign", "bt", 10, api_name="/leaderboard")
