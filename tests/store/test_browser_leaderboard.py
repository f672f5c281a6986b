"""Issue #22, in Chromium: live campaign lists (a campaign created after the page loaded is listed when its tab
is selected), honest leaderboard statistics (one annotator: wide intervals, overlapping ranks, the vote count
and agreement stated), the rating scale offered as 1-5, and results of one campaign cleared when another
is chosen. ``?tab=leaderboard`` opens the leaderboard directly."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backend.store import session as sessions
from tests.store.conftest import annotator, make_campaign, unique_name

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def table_rows(page, selector: str) -> list[list[str]]:
    """The cells of a gr.Dataframe's rows, as text (Gradio draws them as virtual rows of grid cells)."""
    return page.evaluate(f"""() => [...document.querySelectorAll('{selector} .virtual-row')].map(
        (row) => [...row.querySelectorAll('[role=gridcell]')].map((cell) => cell.innerText.trim()))""")


def choose(page, selector: str, name: str) -> None:
    page.locator(f"{selector} input").click()
    page.get_by_role("option", name=name, exact=True).click()


def test_live_lists_and_honest_leaderboard(store_app, app_db, campaign_files, browser_page):
    page = browser_page
    page.goto(f"{store_app.url}?tab=leaderboard")
    page.locator("#lb-show").wait_for()
    pairs, ratings = unique_name("live"), unique_name("live-mos")
    make_campaign(app_db, campaign_files, name=pairs)  # created after the page was loaded
    make_campaign(app_db, campaign_files, name=ratings, kind="rating")
    solo = annotator(app_db, "solo-judge")
    served = sessions.serve_next(pairs, solo, db=app_db)
    for choice in ("left", "right", "left", "left", "right", "left", "right", "left", "left", "right", "left", "left",
                   "right"):
        _, served = sessions.answer_and_next(pairs, solo, served.pair.pair_id, choice, db=app_db)
    for rater in ("rater-a", "rater-b"):
        key = annotator(app_db, rater)
        served = sessions.serve_next(ratings, key, db=app_db)
        for score in (5, 4, 2, 3, 4, 1):
            _, served = sessions.answer_and_next(ratings, key, served.item.item_id, score, db=app_db)

    # the lists follow: selecting the Judge tab, then the Leaderboard tab, re-reads them
    page.get_by_role("tab", name="Judge").click()
    page.locator("#annotate-campaign input").click()
    page.get_by_role("option", name=pairs, exact=True).wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="Leaderboard").click()
    choose(page, "#lb-campaign", pairs)
    page.locator("#lb-show").click()
    summary = page.locator("#lb-summary")
    summary.get_by_text("13 votes").wait_for()
    text = summary.inner_text()
    assert "1 annotator" in text and "Krippendorff's alpha" in text and "single votes" in text and "Few judgments" in text
    rows = table_rows(page, "#lb-ranking")
    assert len(rows) == 4 and {row[0] for row in rows} == {"1–4"}  # one annotator cannot separate them
    assert all(float(row[4]) - float(row[3]) > 0.3 for row in rows)  # never zero width

    # models vs people, then another campaign: the old results go
    page.locator("#lb-compare").click()
    expect(page.locator("#lb-correlations")).to_contain_text("psnr")
    choose(page, "#lb-campaign", ratings)
    expect(summary).not_to_contain_text("13 votes")
    expect(page.locator("#lb-correlations")).not_to_contain_text("psnr")
    expect(page.locator("#lb-ranking")).not_to_contain_text("1–4")
    scale = page.locator("#lb-scale")
    assert scale.is_visible() and scale.locator("input:checked").get_attribute("value") == "rating"
    page.locator("#lb-show").click()
    summary.get_by_text("12 ratings").wait_for()
    assert "1–5 rating scale" in summary.inner_text()
    rows = table_rows(page, "#lb-ranking")
    assert all(1.0 <= float(row[3]) <= float(row[2]) <= float(row[4]) <= 5.0 for row in rows)
