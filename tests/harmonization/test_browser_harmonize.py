"""Browser test: upload a composite into the Harmonize tab's editor, paint the foreground with mouse drags,
harmonize and see the before/after slider, the similarity overlay and the table."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.api]

COMPOSITE = "assets/examples/composite/flowers.jpg"


def test_paint_mask_and_harmonize(live_app, browser_page):
    page = browser_page
    page.goto(live_app.url)
    page.get_by_role("tab", name="Harmonize", exact=True).click()
    editor = page.locator("#harmonize-editor")
    with page.expect_file_chooser() as chooser:
        editor.get_by_role("button", name="Upload", exact=True).click()
    chooser.value.set_files(COMPOSITE)
    page.wait_for_timeout(1500)
    editor.get_by_role("button", name="Brush", exact=True).click()
    box = editor.locator("canvas").last.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.70, box["y"] + box["height"] * 0.15
    for row in range(6):  # paint a patch in the upper right, where the recoloured leaves are
        y = y0 + row * 8
        page.mouse.move(x0, y)
        page.mouse.down()
        page.mouse.move(x0 + box["width"] * 0.2, y, steps=8)
        page.mouse.up()
    methods = page.locator("#harmonize-methods")
    for label in methods.locator("label").all():
        checkbox = label.locator("input")
        wanted = label.inner_text().startswith(("composite:", "semantic-routing:"))
        if checkbox.is_checked() != wanted:
            label.click()
    page.locator("#harmonize-run").click()
    slider_images = page.locator("#harmonize-slider img")
    slider_images.first.wait_for(timeout=120_000)
    assert slider_images.count() == 2
    page.locator("#harmonize-overlay img").wait_for()
    text = ""
    for _ in range(60):
        text = page.locator("#harmonize-table").inner_text()
        if "semantic-routing" in text:
            break
        page.wait_for_timeout(500)
    assert "semantic-routing" in text and "composite" in text and "seconds" in text
    assert page.locator("#harmonize-gallery img").count() >= 2
