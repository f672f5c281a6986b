"""Regenerate the README's screenshots in ``docs/screenshots/`` (small PNGs): the crowd worker's Judge view on a
390x844 phone, the Harmonize result view and the Leaderboard (1400x1000 each).

Starts the real app (``python app.py``) on a free port of 127.0.0.1 with a temporary data directory, builds a
pairwise campaign from photos shipped in scikit-image through the backend (``backend.store``: the campaign,
then simulated votes of a few annotators who prefer the unshifted photo), and drives Debian's ``chromium``
with Playwright (never a browser downloaded by Playwright). Each screenshot is quantized to a palette with
Pillow and saved optimised, at most :data:`MAX_BYTES`.

Run: ``.venv/bin/python scripts/screenshots.py [--out docs/screenshots]``.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import expect

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, LiveApp, sample_photo  # noqa: E402 - needs the repo on the path

MAX_BYTES = 190_000
PHOTOS = ("astronaut", "coffee", "chelsea")
METHODS = {"original": (0, 0, 0), "warm": (45, 10, -35), "cool": (-35, 0, 45), "dark": (-60, -60, -60)}
QUALITY = {"original": 1.0, "warm": 0.4, "cool": 0.1, "dark": -0.6}  # what the simulated annotators prefer
HARMONIZERS = ("composite", "reinhard", "semantic-routing", "srh-tiny")  # ticked for the Harmonize view
ZOOM = 0.8  # the Harmonize view at 80 %, so slider, gallery and metrics fit the 1400x1000 window (not the
# Leaderboard: plotly places its axis titles wrongly in a zoomed page)
CAMPAIGN = "photo-colour-study"


def shifted(image: np.ndarray, shift: tuple[int, int, int]) -> np.ndarray:
    return np.clip(image.astype(np.int16) + np.array(shift, dtype=np.int16), 0, 255).astype(np.uint8)


def write_manifest(folder: Path) -> Path:
    """Three scikit-image photos (320x240 crops), each in four colour versions, as a campaign manifest."""
    rows = ["path,group,method,reference"]
    for photo in PHOTOS:
        image = sample_photo(photo)
        height, width = image.shape[:2]
        top, left = max((height - 360) // 2, 0), max((width - 480) // 2, 0)
        crop = np.asarray(Image.fromarray(image[top:top + 360, left:left + 480]).resize((320, 240), Image.LANCZOS))
        (folder / photo).mkdir(parents=True, exist_ok=True)
        Image.fromarray(crop).save(folder / photo / "reference.png")
        for method, shift in METHODS.items():
            Image.fromarray(shifted(crop, shift)).save(folder / photo / f"{method}.png")
            rows.append(f"{photo}/{method}.png,{photo},{method},{photo}/reference.png")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def build_campaign(data_dir: Path, work: Path, votes: int = 120, annotators: int = 6, seed: int = 0) -> str:
    """The pairwise campaign in the app's database, with ``votes`` simulated votes (Thurstone noise)."""
    from backend.store import pairwise
    from backend.store.annotators import sign
    from backend.store.campaigns import CampaignSettings, create_campaign
    from backend.store.db import Database

    db = Database(None, data_dir)  # the app's own database (SQLite in its data directory)
    try:
        info = create_campaign(CAMPAIGN, write_manifest(work), CampaignSettings(kind="pairwise", allow_tie=True), db=db)
        methods = {db.media.file(item.sha256): item.method for item in info.items.values()}
        rng = np.random.default_rng(seed)
        keys = [sign(db, f"screenshot-{k}") for k in range(annotators)]
        for k in range(votes):
            served = pairwise.next_pair(CAMPAIGN, keys[k % annotators], db=db)
            difference = (QUALITY[methods[served.left_image]] - QUALITY[methods[served.right_image]]
                          + rng.normal(0, 1.2))
            choice = "tie" if rng.random() < 0.05 else ("left" if difference > 0 else "right")
            pairwise.vote(CAMPAIGN, keys[k % annotators], served.pair_id, choice, uuid.uuid4().hex, db=db)
    finally:
        db.dispose()
    return CAMPAIGN


def small_png(png: bytes, path: Path, max_bytes: int = MAX_BYTES) -> int:
    """Save a screenshot as a palette PNG under ``max_bytes`` (fewer colours, then a smaller size if needed)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6):
        sized = image if scale == 1.0 else image.resize((round(image.width * scale), round(image.height * scale)),
                                                        Image.LANCZOS)
        for colours in (256, 128):
            buffer = io.BytesIO()
            sized.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG).save(
                buffer, "PNG", optimize=True)
            if buffer.tell() <= max_bytes:
                path.write_bytes(buffer.getvalue())
                return buffer.tell()
    raise RuntimeError(f"{path.name} stays above {max_bytes} bytes")


def wait_for_images(page, selector: str) -> None:
    """Every image under ``selector`` decoded (so a screenshot never shows a half-loaded photo)."""
    page.wait_for_function(f"""() => {{
        const images = [...document.querySelectorAll('{selector} img')];
        return images.length > 0 && images.every((image) => image.complete && image.naturalWidth > 0);
    }}""")


def phone_judge(browser, url: str, campaign: str) -> bytes:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=1)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}?campaign={campaign}")
        page.locator("#worker-left-image img").wait_for()
        page.locator("#worker-right").tap()  # one vote, so the progress reads "1 of N"
        page.locator("#worker-progress").get_by_text("1 of").wait_for()
        wait_for_images(page, "#worker-stage")
        page.wait_for_timeout(500)
        return page.screenshot()
    finally:
        context.close()


def desktop(browser, zoom: float = 1.0):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(120_000)
    if zoom != 1.0:
        page.add_init_script(f"document.addEventListener('DOMContentLoaded', () => {{ document.body.style.zoom = '{zoom}'; }})")
    return context, page


def harmonize_result(browser, url: str, example: int = 0) -> bytes:
    context, page = desktop(browser, ZOOM)
    try:
        page.goto(f"{url}?tab=harmonize")
        page.locator("#harmonize-run").wait_for()
        examples = page.locator("#tab-harmonize div.block", has=page.get_by_text("Examples (composite, mask"))
        examples.locator("tbody tr").nth(example).click()
        page.locator("#harmonize-reference").get_by_text(".jpg").first.wait_for()
        page.wait_for_timeout(1000)
        for label in page.locator("#harmonize-methods label").all():
            if label.locator("input").is_checked() != label.inner_text().startswith(tuple(f"{m}:" for m in HARMONIZERS)):
                label.click()
        page.locator("#harmonize-run").click()
        expect(page.locator("#harmonize-table")).to_contain_text("srh-tiny", timeout=300_000)
        page.locator("#harmonize-slider img").first.wait_for()
        wait_for_images(page, "#harmonize-gallery")
        wait_for_images(page, "#harmonize-slider")
        page.wait_for_timeout(1000)
        page.locator("#harmonize-notes").evaluate("(element) => element.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        return page.screenshot()
    finally:
        context.close()


def leaderboard(browser, url: str, campaign: str) -> bytes:
    context, page = desktop(browser)
    try:
        page.goto(f"{url}?tab=leaderboard")
        page.locator("#lb-show").wait_for()
        page.locator("#lb-campaign input").click()
        page.get_by_role("option", name=campaign, exact=True).click()
        page.locator("#lb-show").click()
        expect(page.locator("#lb-summary")).to_contain_text("votes", timeout=120_000)
        page.locator("#lb-ranking-plot .js-plotly-plot").wait_for()
        page.locator("#lb-detail-plot .js-plotly-plot").wait_for()
        page.wait_for_timeout(1000)
        page.locator("#lb-campaign").evaluate("(element) => element.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        return page.screenshot()
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="folder for the PNGs")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="harmonylab-screenshots-") as folder:
        folder = Path(folder)
        (folder / "data").mkdir()
        app = LiveApp(folder / "data").start()
        try:
            campaign = build_campaign(folder / "data", folder / "campaign")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    shots = {"judge-phone.png": phone_judge(browser, app.url, campaign),
                             "harmonize-result.png": harmonize_result(browser, app.url),
                             "leaderboard.png": leaderboard(browser, app.url, campaign)}
                finally:
                    browser.close()
        finally:
            app.stop()
    for name, png in shots.items():
        size = small_png(png, out / name)
        print(f"{out / name}: {Image.open(out / name).size[0]}x{Image.open(out / name).size[1]}, {size / 1000:.0f} KB")


if __name__ == "__main__":
    main()
