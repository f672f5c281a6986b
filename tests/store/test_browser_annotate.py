"""(d) A person annotates with the keyboard in Chromium: three pairs (left, right, tie), then one rating; the progress
says "n of N"."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.store.models import Annotator, Comparison, Rating
from tests.store.conftest import make_campaign, unique_name

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def choose_campaign(page, name: str) -> None:
    page.locator("#annotate-campaign input").click()
    page.get_by_role("option", name=name, exact=True).click()


def wait_for_progress(page, answered: int) -> None:
    page.locator("#annotate-progress").get_by_text(f"{answered} of ", exact=False).wait_for()


def test_keyboard_annotation_of_three_pairs_and_a_rating(store_app, app_db, campaign_files, browser_page):
    pairs, ratings = unique_name("keys"), unique_name("keys-mos")
    make_campaign(app_db, campaign_files, name=pairs, allow_tie=True)
    make_campaign(app_db, campaign_files, name=ratings, kind="rating")
    page = browser_page
    page.goto(store_app.url)
    page.get_by_role("tab", name="Annotate").click()
    annotator_box = page.locator("#annotate-annotator textarea, #annotate-annotator input").first
    page.wait_for_function("() => { const e = document.querySelector('#annotate-annotator textarea, #annotate-annotator input');"
                           " return e && e.value.startsWith('anon-'); }")
    annotator = annotator_box.input_value()
    annotator_key = annotator.rsplit(".", 1)[0]  # the id the server issued is the key and its signature

    choose_campaign(page, pairs)
    wait_for_progress(page, 0)
    page.locator("#annotate-left-image img").wait_for()
    first_pair = page.locator("#annotate-left-image img").get_attribute("src")
    assert first_pair and "/annotate/v1/images/" in first_pair  # content-addressed: no method name, no server path
    assert str(store_app.data_dir) not in first_pair and "file=" not in first_pair
    for answered, key in enumerate(["ArrowLeft", "ArrowRight", "ArrowDown"], start=1):
        page.keyboard.press(key)
        wait_for_progress(page, answered)

    with app_db.reading() as session:
        rows = session.exec(select(Comparison.choice, Annotator.key).join(Annotator).order_by(Comparison.id)
                            .where(Annotator.key == annotator_key)).all()
    assert [choice for choice, _ in rows] == ["left", "right", "tie"]

    choose_campaign(page, ratings)
    wait_for_progress(page, 0)
    page.locator("#annotate-rate-image img").wait_for()
    page.keyboard.press("4")
    wait_for_progress(page, 1)
    with app_db.reading() as session:
        scores = session.exec(select(Rating.score).join(Annotator).where(Annotator.key == annotator_key)).all()
    assert scores == [4]

    page.reload()  # the anonymous id is kept by the browser
    page.get_by_role("tab", name="Annotate").click()
    page.wait_for_function("() => { const e = document.querySelector('#annotate-annotator textarea, #annotate-annotator input');"
                           " return e && e.value.startsWith('anon-'); }")
    assert annotator_box.input_value() == annotator
