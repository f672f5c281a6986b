"""Browser test: the Compare2Score tab in Debian's Chromium -- upload, inspect, see the score and plots."""

from __future__ import annotations

import pytest
from PIL import Image

from backend.data.photos import skimage_photos

pytestmark = [pytest.mark.browser, pytest.mark.api]


def test_compare2score_tab_in_browser(live_app, browser_page, tmp_path):
    path = tmp_path / "rocket.png"
    Image.fromarray(skimage_photos(256)["rocket"]).save(path)
    page = browser_page
    page.goto(live_app.url)
    page.get_by_role("tab", name="Compare2Score", exact=True).click()
    page.locator("#c2s-image input[type=file]").set_input_files(str(path))
    page.locator("#c2s-run").click()
    summary = page.locator("#c2s-summary")
    summary.get_by_text("Score:").wait_for()
    score = float(summary.inner_text().split("Score:")[1].split()[0].strip("*"))
    assert 0 < score < 7
    page.locator("#c2s-anchors img").first.wait_for()
    assert page.locator("#c2s-anchors img").count() >= 5
    page.locator(".js-plotly-plot").nth(2).wait_for()
    assert page.locator(".js-plotly-plot").count() >= 3
    page.screenshot(path=str(tmp_path / "compare2score-tab.png"), full_page=True)
