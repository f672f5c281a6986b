"""Tap response of the crowd worker's page (issue #22): server time per vote tapped on a 390x844 phone.

Starts the real app on a fresh data directory (SQLite), creates a pairwise campaign of scikit-image photos
through ``python -m backend campaign create``, opens ``/?campaign=NAME`` in Debian's chromium at phone size
(touch, device scale 2) and taps Left / Right / Tie in turn. For each tap it records the server time of the
request the tap sends (request sent to the first byte of the response, from the browser's resource timing)
and the time until the page shows the next "n of N" (what the worker sees). Target: median server time
under 150 ms. Run: ``python -m benchmarks.judge_taps [--taps 20]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import write_results
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, LiveApp

TARGET_SERVER_MS = 150
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
METHODS = {"a": (0, 0, 0), "b": (30, -10, -20), "c": (-25, 15, 30), "d": (60, 40, -40)}


def write_campaign(root: Path) -> Path:
    """A manifest of 4 photos x 4 colour shifts (256 px crops), with references."""
    from skimage import data

    rows = ["path,group,method,reference"]
    for photo in PHOTOS:
        base = getattr(data, photo)()[:256, :256, :3].astype(np.int16)
        (root / photo).mkdir(parents=True)
        Image.fromarray(base.astype(np.uint8)).save(root / photo / "reference.png")
        for method, shift in METHODS.items():
            Image.fromarray(np.clip(base + np.array(shift), 0, 255).astype(np.uint8)).save(root / photo / f"{method}.png")
            rows.append(f"{photo}/{method}.png,{photo},{method},{photo}/reference.png")
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=20, help="votes tapped (at most 24: the campaign has 24 distinct pairs)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        manifest = write_campaign(folder / "campaign")
        app = LiveApp(folder / "data")
        (folder / "data").mkdir()
        created = subprocess.run([sys.executable, "-m", "backend", "campaign", "create", "--name", "taps", "--kind",
                                  "pairwise", "--manifest", str(manifest), "--allow-tie"], env=app.env,
                                 cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
        if created.returncode:
            raise SystemExit(f"campaign create failed:\n{created.stderr[-2000:]}")
        app.start()
        server_ms, shown_ms = [], []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_context(**PHONE).new_page()
                page.set_default_timeout(60_000)
                page.goto(f"{app.url}?campaign=taps")
                page.locator("#worker-left-image img").wait_for()
                buttons = ("#worker-left", "#worker-right", "#worker-tie")
                for index in range(args.taps):
                    start = time.perf_counter()
                    with page.expect_response(lambda r: "/run/predict" in r.url or "/queue/join" in r.url) as info:
                        page.locator(buttons[index % 3]).tap()
                    timing = info.value.request.timing
                    server_ms.append(timing["responseStart"] - timing["requestStart"])
                    page.locator("#worker-progress").get_by_text(f"{index + 1} of").first.wait_for()
                    shown_ms.append((time.perf_counter() - start) * 1000)
                browser.close()
        finally:
            app.stop()
    result = {
        "taps": args.taps,
        "server_ms": {"median": statistics.median(server_ms), "p90": percentile(server_ms, 90), "max": max(server_ms)},
        "tap_to_progress_ms": {"median": statistics.median(shown_ms), "p90": percentile(shown_ms, 90)},
        "target_server_ms": TARGET_SERVER_MS,
        "load_average_1min": os.getloadavg()[0],
    }
    print(f"{args.taps} taps on a 390x844 phone: server time median {result['server_ms']['median']:.0f} ms, "
          f"p90 {result['server_ms']['p90']:.0f} ms (target median < {TARGET_SERVER_MS} ms); tap to 'n of N' "
          f"median {result['tap_to_progress_ms']['median']:.0f} ms, p90 {result['tap_to_progress_ms']['p90']:.0f} ms")
    write_results("judge_taps", result)


if __name__ == "__main__":
    main()
