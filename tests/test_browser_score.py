"""Browser test: open the Score tab in Debian's Chromium, upload an image pair, score, read the table."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.api]


def test_score_tab_in_browser(live_app, browser_page, photo_files):
    page = browser_page
    page.goto(live_app.url)
    page.get_by_role("tab", name="Score", exact=True).click()
    page.locator("#score-images input[type=file]").set_input_files(str(photo_files["image"]))
    page.locator("#score-references input[type=file]").set_input_files(str(photo_files["reference"]))
    page.locator('#score-images td.filename[aria-label="photo.png"]').wait_for()
    page.locator('#score-references td.filename[aria-label="photo.png"]').wait_for()
    page.locator("#score-run").click()
    table = page.locator("#score-table")
    table.locator("th", has_text="psnr").first.wait_for()
    headers = table.locator("th").all_inner_texts()
    assert [h.strip() for h in headers] == ["image", "psnr", "ssim", "piqe"]
    tokens = table.inner_text().split()
    row = tokens[tokens.index("photo.png"):][:4]
    psnr, ssim, piqe = (float(value) for value in row[1:])
    assert 20 < psnr < 30 and 0 < ssim < 1 and 0 <= piqe <= 100
