"""Issue #22, in Chromium: a prompt saved in the PromptIQA tab is offered by the Score tab's prompt list at once,
without "Refresh prompts" or a page reload (the lists are read again after a save and on tab select)."""

from __future__ import annotations

import uuid

import pytest
from PIL import Image

from tests.promptiqa.helpers import noisy_series
from tests.promptiqa.test_browser_ownership import save_prompt

pytestmark = [pytest.mark.browser, pytest.mark.api]


def test_a_saved_prompt_is_listed_in_the_score_tab(live_app, browser_page, tmp_path):
    files = []
    for k, image in enumerate(noisy_series(2)):
        Image.fromarray(image).save(tmp_path / f"p{k}.png")
        files.append(str(tmp_path / f"p{k}.png"))
    page = browser_page
    name = f"live-list-{uuid.uuid4().hex[:8]}"
    save_prompt(page, live_app.url, files, name)  # the page (and the Score tab's list) loaded before the save
    page.locator("#promptiqa-save-status", has_text=f"Saved prompt {name}").wait_for()
    page.get_by_role("tab", name="Score", exact=True).click()
    page.locator("#score-prompt input").click()
    page.get_by_role("option", name=name, exact=True).wait_for()
