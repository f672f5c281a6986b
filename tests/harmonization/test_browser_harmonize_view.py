"""Issue #22, in Chromium: the Harmonize view a researcher reads, and examples at the top of each tab.

An example (composite, mask, real photo) harmonized with three methods: harmonizers that cannot run here are
listed greyed out and cannot be ticked; every result in the gallery is captioned with its method; the slider
shows the best result by the reference (lowest fMSE among the methods that change the image) and clicking
another result in the gallery shows that one; the metrics table states each metric's direction and
highlights the best value; "Send to Score" carries the result, its reference and its mask, with models that
fit them. The Harmonize, Compare2Score and PromptIQA tabs show their examples above their inputs.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.api]
METHODS = ("composite", "reinhard", "histogram")  # quick ones
BEST = "rgb(200, 247, 197)"  # the highlight of the best value (ui/harmonize.py)


def dataframe_rows(page, selector: str) -> list[list[str]]:
    """The cells of a gr.Dataframe's rows, as text (Gradio draws them as virtual rows of grid cells)."""
    return page.evaluate(f"""() => [...document.querySelectorAll('{selector} .virtual-row')].map(
        (row) => [...row.querySelectorAll('[role=gridcell]')].map((cell) => cell.innerText.trim()))""")


def examples_above(page, tab: str, panel: str, label: str, first_input: str) -> None:
    page.get_by_role("tab", name=tab, exact=True).click()
    examples = page.locator(f"#{panel}").get_by_text(label).first
    examples.wait_for()
    assert examples.bounding_box()["y"] < page.locator(f"#{first_input}").bounding_box()["y"], tab


def shown(page) -> str:
    return page.locator("#harmonize-shown input:checked").get_attribute("value")


def test_the_harmonize_view_and_examples_on_top(live_app, browser_page):
    page = browser_page
    page.goto(f"{live_app.url}?tab=harmonize")
    page.locator("#harmonize-run").wait_for()
    unavailable = page.locator("#harmonize-unavailable input")
    unavailable.first.wait_for()  # rendered a moment after the button on a busy machine
    assert unavailable.count() >= 1 and all(box.is_disabled() for box in unavailable.all())
    assert "srh-full" in page.locator("#harmonize-unavailable").inner_text()

    examples = page.locator("#tab-harmonize div.block", has=page.get_by_text("Examples (composite, mask"))
    assert examples.first.bounding_box()["y"] < page.locator("#harmonize-editor").bounding_box()["y"]
    examples.locator("tbody tr").first.click()
    page.locator("#harmonize-reference").get_by_text(".jpg").first.wait_for()
    page.locator("#harmonize-mask").get_by_text(".png").first.wait_for()
    for label in page.locator("#harmonize-methods label").all():
        if label.locator("input").is_checked() != label.inner_text().startswith(tuple(f"{m}:" for m in METHODS)):
            label.click()
    page.locator("#harmonize-run").click()
    expect(page.locator("#harmonize-table")).to_contain_text("histogram", timeout=120_000)
    page.locator("#harmonize-shown input:checked").wait_for()

    captions = page.locator("#harmonize-gallery .caption-label")
    expect(captions).to_have_count(len(METHODS))
    assert [caption.inner_text().strip() for caption in captions.all()] == list(METHODS)
    headers = [h.strip() for h in page.locator("#harmonize-table th").all_inner_texts() if h.strip()]
    assert {"MSE ↓", "fMSE ↓", "PSNR ↑", "fPSNR ↑"} <= set(headers)
    fmse = headers.index("fMSE ↓")
    rows = {row[0]: row for row in dataframe_rows(page, "#harmonize-table")}
    best = min(("reinhard", "histogram"), key=lambda method: float(rows[method][fmse]))
    assert shown(page) == best  # the best result by the reference, not the first method
    highlighted = page.evaluate(f"""() => [...document.querySelectorAll('#harmonize-table [role=gridcell]')]
        .filter((cell) => getComputedStyle(cell).backgroundColor === '{BEST}'
                          || getComputedStyle(cell.firstElementChild || cell).backgroundColor === '{BEST}')
        .map((cell) => cell.innerText.trim())""")
    assert rows[min(rows, key=lambda method: float(rows[method][fmse]))][fmse] in highlighted

    other = next(method for method in ("reinhard", "histogram") if method != best)
    page.locator("#harmonize-gallery .thumbnail-item").nth(METHODS.index(other)).click()
    page.locator(f"#harmonize-shown input[value={other}]:checked").wait_for()  # the slider follows the gallery

    page.locator("#harmonize-send-score").click()
    page.locator("#score-references td.filename").first.wait_for()
    page.locator("#score-mask td.filename").first.wait_for()
    page.locator("#score-images td.filename").first.wait_for()
    ticked = [label.inner_text().split(" ")[0] for label in page.locator("#score-models label").all()
              if label.locator("input").is_checked()]
    assert ticked == ["psnr", "ssim", "piqe"]

    examples_above(page, "Compare2Score", "tab-compare2score", "Examples (press Score and inspect)", "c2s-image")
    examples_above(page, "PromptIQA", "tab-promptiqa", "Example (composites scored", "promptiqa-prompt-images")
