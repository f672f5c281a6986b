"""Browser test (issue #20, 6): a prompt saved in the PromptIQA tab belongs to the browser that saved it.

The owner token the server issues is kept in the browser (``gr.BrowserState``): after a reload the same
browser replaces its prompt; another browser (a fresh context, so empty localStorage) is refused.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.promptiqa.helpers import noisy_series

pytestmark = [pytest.mark.browser, pytest.mark.api]


def save_prompt(page, url: str, files: list[str], name: str) -> None:
    page.goto(url)
    page.get_by_role("tab", name="PromptIQA", exact=True).click()
    page.locator("#promptiqa-prompt-images input[type=file]").set_input_files(files)
    for path in files:
        page.locator(f'#promptiqa-prompt-images td.filename[aria-label="{path.rsplit("/", 1)[-1]}"]').wait_for()
    page.locator("#promptiqa-prompt-scores textarea").fill("1, 2")
    page.locator("#promptiqa-saved").get_by_text("Saved prompts").first.click()
    page.locator("#promptiqa-save-name textarea, #promptiqa-save-name input").first.fill(name)
    page.locator("#promptiqa-save").click()


def test_only_the_saving_browser_may_replace_its_prompt(live_app, browser_page, chromium_browser, tmp_path):
    files = []
    for k, image in enumerate(noisy_series(2)):
        Image.fromarray(image).save(tmp_path / f"b{k}.png")
        files.append(str(tmp_path / f"b{k}.png"))
    name = f"browser-owned-{np.random.default_rng().integers(1 << 30)}"
    save_prompt(browser_page, live_app.url, files, name)
    browser_page.locator("#promptiqa-save-status", has_text=f"Saved prompt {name}").wait_for()
    save_prompt(browser_page, live_app.url, files, name)  # after a reload: the same browser, the same owner
    browser_page.locator("#promptiqa-save-status", has_text=f"Saved prompt {name}").wait_for()
    other = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = other.new_page()
        page.set_default_timeout(60_000)
        save_prompt(page, live_app.url, files, name)
        page.get_by_text("belongs to someone else").first.wait_for()
    finally:
        other.close()
