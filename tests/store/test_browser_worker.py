"""Issue #22: a crowd worker on a 390x844 phone opens a campaign's link, /?campaign=NAME, and annotates by tap.

The page shows the judge view alone (no demo tabs); the pair side by side, labelled Left and Right as laid
out, and the buttons fit the screen without scrolling; a tap is answered in under 150 ms of server time;
zoom and flicker; skip and undo are stored as corrections (the answer row stays); "n of N"; a finished card
with the campaign's completion code and return link, and no live-looking buttons left.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.store import session as sessions
from backend.store.models import Annotator, Comparison, Rating
from tests.store.conftest import make_campaign, unique_name

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def phone(chromium_browser):
    context = chromium_browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def within_screen(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844 and box["x"] >= 0 and box["x"] + box["width"] <= 390, \
        f"{selector} is outside the 390x844 screen: {box}"
    return box


def worker_key(page) -> str:
    annotator = page.evaluate("() => window.localStorage.getItem('harmonylab-annotator-id')")
    assert annotator  # kept by the browser (encrypted); the key is read from the stored answers below
    return annotator


def test_a_worker_votes_by_tap_on_a_phone(store_app, app_db, campaign_files, phone):
    name = unique_name("phone")
    make_campaign(app_db, campaign_files, name=name, allow_tie=True)
    sessions.set_session_settings(name, sessions.check_settings(
        6, "PHONE-OK", "https://app.prolific.com/submissions/complete?cc=PHONE-OK"), db=app_db)
    page = phone
    page.goto(f"{store_app.url}?campaign={name}")
    page.locator("#worker-left-image img").wait_for()
    page.locator("#worker-progress").get_by_text("0 of 6").wait_for()

    # the judge view alone: no demo tabs, nothing to scroll to
    assert not page.locator("#hl-main").is_visible() and not page.get_by_role("tab", name="Harmonize").is_visible()
    assert page.evaluate("() => window.scrollY") == 0
    left, right = within_screen(page, "#worker-left-image img"), within_screen(page, "#worker-right-image img")
    for button in ("#worker-left", "#worker-tie", "#worker-right", "#worker-skip", "#worker-undo"):
        within_screen(page, button)
    assert left["x"] + left["width"] <= right["x"] and abs(left["y"] - right["y"]) < 2  # side by side
    assert left["width"] > 150  # each image takes half the phone's width
    assert page.locator("#worker-left-image figcaption").inner_text() == "Left"
    assert page.locator("#worker-right-image figcaption").inner_text() == "Right"
    assert not page.locator("#worker-keys").is_visible()  # no keyboard hints on a touch screen

    # zoom and flicker
    page.locator("#worker-right-image img").tap()
    page.locator(".hl-zoom-overlay img").wait_for()
    page.locator(".hl-zoom-overlay").tap()
    assert page.locator(".hl-zoom-overlay").count() == 0
    page.locator("#worker-stage .hl-flicker").tap()
    assert "hl-flickering" in page.locator("#worker-stage .hl-pair").get_attribute("class")

    # votes by tap
    for answered, button in enumerate(("#worker-left", "#worker-right", "#worker-tie", "#worker-left"), start=1):
        page.locator(button).tap()
        page.locator("#worker-progress").get_by_text(f"{answered} of 6").wait_for()
    worker_key(page)
    with app_db.reading() as session:
        rows = session.exec(select(Comparison).where(Comparison.campaign_id == sessions.get_campaign(name, app_db).id)
                            .order_by(Comparison.id)).all()
    assert [row.choice for row in rows] == ["left", "right", "tie", "left"]
    annotator_id = rows[0].annotator_id

    # undo the last vote: a correction, the vote row stays, the same pair comes back
    page.locator("#worker-undo").tap()
    page.locator("#worker-progress").get_by_text("3 of 6").wait_for()
    page.locator("#worker-message").get_by_text("undone").wait_for()
    page.locator("#worker-skip").tap()
    page.locator("#worker-left-image img").wait_for()
    with app_db.reading() as session:
        corrections = session.exec(select(sessions.AnswerCorrection)
                                   .where(sessions.AnswerCorrection.annotator_id == annotator_id)).all()
        assert len(session.exec(select(Comparison).where(Comparison.annotator_id == annotator_id)).all()) == 4
    assert sorted(c.kind for c in corrections) == ["skip", "undo"]
    assert next(c for c in corrections if c.kind == "undo").comparison_id == rows[-1].id

    # finish: the completion code and the return link, nothing left to tap
    for answered in range(4, 7):
        page.locator("#worker-right").tap()
        page.locator("#worker-progress").get_by_text(f"{answered} of 6").wait_for()
    finished = page.locator("#worker-finished")
    finished.wait_for()
    assert "All done" in finished.inner_text() and page.locator("#worker-completion-code").inner_text() == "PHONE-OK"
    assert page.locator("#worker-return").get_attribute("href").endswith("cc=PHONE-OK")
    within_screen(page, "#worker-return")
    for hidden in ("#worker-left", "#worker-right", "#worker-skip", "#worker-undo", "#worker-left-image"):
        assert not page.locator(hidden).is_visible()
    with app_db.reading() as session:
        key = session.exec(select(Annotator.key).where(Annotator.id == annotator_id)).one()
    assert key.startswith("anon-")


def test_a_rating_session_fits_the_phone_and_ends_cleanly(store_app, app_db, campaign_files, phone):
    name = unique_name("phone-mos")
    info = make_campaign(app_db, campaign_files, name=name, kind="rating")
    total = len(info.ordinary_ids)
    page = phone
    page.goto(f"{store_app.url}?campaign={name}")
    page.locator("#worker-rate-image img").wait_for()
    within_screen(page, "#worker-rate-image img")
    for score in range(1, 6):
        within_screen(page, f"#worker-rate-{score}")
    for answered in range(1, total + 1):
        page.locator(f"#worker-rate-{1 + answered % 5}").tap()
        page.locator("#worker-progress").get_by_text(f"{answered} of {total}").wait_for()
    page.locator("#worker-finished").wait_for()
    assert page.locator("#worker-stage img").count() == 0  # no empty frames
    for score in range(1, 6):
        assert not page.locator(f"#worker-rate-{score}").is_visible()
    with app_db.reading() as session:
        assert len(session.exec(select(Rating).where(Rating.campaign_id == info.id)).all()) == total
