"""Browser test: the Score tab's Dog-IQA view in Debian's Chromium: upload, score, see regions and components."""

from __future__ import annotations

import pytest
from PIL import Image

from backend.data.photos import skimage_photos

pytestmark = [pytest.mark.browser, pytest.mark.api]


def test_dogiqa_view_in_browser(live_app, browser_page, tmp_path):
    path = tmp_path / "rocket.png"
    Image.fromarray(skimage_photos(256)["rocket"]).save(path)
    page = browser_page
    page.goto(live_app.url)
    page.get_by_role("tab", name="Score", exact=True).click()
    page.get_by_role("tab", name="Dog-IQA regions").click()
    page.locator("#dogiqa-image input[type=file]").set_input_files(str(path))
    page.locator("#dogiqa-image img").first.wait_for()
    page.locator("#dogiqa-run").click()
    page.locator("#dogiqa-summary", has_text="Dog-IQA score").wait_for()
    assert "regions" in page.locator("#dogiqa-summary").inner_text()
    page.locator("#dogiqa-overlay img").first.wait_for()
    components = page.locator("#dogiqa-components").inner_text()
    assert "s_global" in components and "s_seg" in components
    assert "whole image" in page.locator("#dogiqa-regions").inner_text()
