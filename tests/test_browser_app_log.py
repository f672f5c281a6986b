"""Issue #22: the app's log stays free of Gradio warnings through a session that touches every tab's main action.

A fresh ``python app.py`` of its own (so its log holds only this session) is driven in Debian's Chromium --
page load, each tab selected (the live lists), an example harmonized and a result picked in the gallery, an
example scored, the Judge view opening a campaign and a vote, the worker page and a vote by tap, the
Leaderboard shown -- and through ``gradio_client`` for the actions a browser test would make slow
(Compare2Score, PromptIQA, models vs people). Then the server's stdout and stderr must hold no
``UserWarning``, no "returned too many output values" (the open_campaign output count of the issue), no
``Warning:`` and no traceback.
"""

from __future__ import annotations

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import LiveApp, noisy, sample_photo
from tests.store.conftest import METHODS, PHOTOS, SIZE, shifted, write_photo

pytestmark = [pytest.mark.browser, pytest.mark.api, pytest.mark.slow]
FORBIDDEN = ("UserWarning", "returned too many output values", "Warning:", "Traceback")
CAMPAIGN = "log-check"


def write_campaign(folder) -> None:
    """A small pairwise campaign (scikit-image photos, colour shifts as methods) in the app's database."""
    from backend.store.campaigns import CampaignSettings, create_campaign
    from backend.store.db import Database

    rows = ["path,group,method,reference"]
    for photo in PHOTOS:
        reference = sample_photo(photo)[:SIZE * 2:2, :SIZE * 2:2].copy()
        write_photo(folder / "campaign" / photo / "reference.png", reference)
        for method, shift in METHODS.items():
            write_photo(folder / "campaign" / photo / f"{method}.png", shifted(reference, shift))
            rows.append(f"{photo}/{method}.png,{photo},{method},{photo}/reference.png")
    (folder / "campaign" / "manifest.csv").write_text("\n".join(rows) + "\n")
    db = Database(None, folder / "data")
    try:
        create_campaign(CAMPAIGN, folder / "campaign" / "manifest.csv", CampaignSettings(kind="pairwise", allow_tie=True),
                        db=db)
    finally:
        db.dispose()


def choose(page, selector: str, name: str) -> None:
    page.locator(f"{selector} input").click()
    page.get_by_role("option", name=name, exact=True).click()


def browser_session(browser, url: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(f"{url}?tab=harmonize")
        page.locator("#harmonize-run").wait_for()
        examples = page.locator("#tab-harmonize div.block", has=page.get_by_text("Examples (composite, mask"))
        examples.locator("tbody tr").first.click()
        page.locator("#harmonize-reference").get_by_text(".jpg").first.wait_for()
        for label in page.locator("#harmonize-methods label").all():  # two quick methods
            if label.locator("input").is_checked() != label.inner_text().startswith(("composite:", "reinhard:")):
                label.click()
        page.locator("#harmonize-run").click()
        expect(page.locator("#harmonize-table")).to_contain_text("reinhard", timeout=120_000)
        page.locator("#harmonize-gallery img").nth(1).wait_for()
        page.locator("#harmonize-gallery img").first.click()  # pick a result: the slider follows
        page.locator("#harmonize-shown input[value=composite]:checked").wait_for()
        page.locator("#harmonize-send-score").click()  # to the Score tab, with reference and mask

        page.locator("#score-run").wait_for()
        page.locator("#score-run").click()
        expect(page.locator("#score-status")).to_contain_text("✓ scored", timeout=120_000)
        page.get_by_role("tab", name="Compare2Score", exact=True).click()
        page.get_by_role("tab", name="PromptIQA", exact=True).click()

        page.get_by_role("tab", name="Annotate", exact=True).click()
        choose(page, "#annotate-campaign", CAMPAIGN)  # open_campaign
        page.locator("#annotate-left-image img").wait_for()
        page.keyboard.press("ArrowLeft")
        page.locator("#annotate-progress").get_by_text("1 of", exact=False).wait_for()
        page.get_by_role("tab", name="Leaderboard").click()
        choose(page, "#lb-campaign", CAMPAIGN)
        page.locator("#lb-show").click()
        expect(page.locator("#lb-summary")).to_contain_text("vote", timeout=120_000)

        page.goto(f"{url}?campaign={CAMPAIGN}")  # the worker page
        page.locator("#worker-left-image img").wait_for()
        progress = page.locator("#worker-progress")
        expect(progress).to_contain_text(" of ")
        before = progress.inner_text()  # the same browser's annotator id: its Judge vote counts here too
        page.locator("#worker-right").click()
        expect(progress).not_to_have_text(before)
    finally:
        context.close()


def api_session(url: str, folder) -> None:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    photo = folder / "photo.png"
    Image.fromarray(noisy(sample_photo("astronaut")[::4, ::4].copy(), 8.0)).save(photo)
    client.predict(handle_file(str(photo)), "c2s-siamese", "probability", "mos", False, None, api_name="/compare2score")
    prompt = []
    for k, sigma in enumerate((2.0, 12.0, 30.0)):
        path = folder / f"prompt{k}.png"
        Image.fromarray(noisy(sample_photo("coffee")[::4, ::4].copy(), sigma, seed=k)).save(path)
        prompt.append(handle_file(str(path)))
    client.predict(prompt, "5, 3, 1", [handle_file(str(photo))], "promptiqa", api_name="/promptiqa")
    client.predict(CAMPAIGN, ["psnr"], 50, api_name="/models_vs_people")


@pytest.fixture
def logged_app(tmp_path):
    (tmp_path / "data").mkdir()
    write_campaign(tmp_path)
    app = LiveApp(tmp_path / "data", extra_env={"HARMONYLAB_ADMIN_PASSWORD": "log-test-admin"}).start()
    yield app
    app.stop()


def test_the_app_log_is_free_of_gradio_warnings(logged_app, chromium_browser, tmp_path):
    browser_session(chromium_browser, logged_app.url)
    api_session(logged_app.url, tmp_path)
    logged_app.stop()  # every line written before the log is read
    log = logged_app.log_path.read_text(errors="replace")
    assert "Running on local URL" in log  # the log of this app, written through
    found = [line for line in log.splitlines() if any(marker in line for marker in FORBIDDEN)]
    assert not found, "the app logged:\n" + "\n".join(found[:20]) + "\n\nfull log (end):\n" + log[-4000:]
