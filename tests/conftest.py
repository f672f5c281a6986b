"""Shared fixtures: sample photos from scikit-image, a live app process, and Debian's Chromium.

Settings: every test starts with the settings of the environment; ``settings_env`` changes variables for
one test. The annotation rate limits are off for the suite unless the environment sets them
(``RATE_LIMIT_VARIABLES``). ``live_app`` starts the real ``python app.py`` on a free port of 127.0.0.1 (its data directory and database
in a temporary folder) and yields its URL; ``browser_page`` gives a Playwright page in Debian's
``/usr/bin/chromium`` (never a browser downloaded by Playwright).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend import settings

REPO = Path(__file__).resolve().parent.parent

# The suite drives the annotation services far faster than people do, so the rate limits of
# backend/store/limits.py are off for it (and for the apps it starts) unless the environment sets them; the
# tests of the limits set their own values (tests/store/test_limits.py).
RATE_LIMIT_VARIABLES = ("HARMONYLAB_ANNOTATOR_ANSWERS_PER_MINUTE", "HARMONYLAB_CAMPAIGN_ANSWERS_PER_MINUTE",
                        "HARMONYLAB_NEW_ANNOTATORS_PER_MINUTE")
for _variable in RATE_LIMIT_VARIABLES:
    os.environ.setdefault(_variable, "none")
CHROMIUM = os.environ.get("HARMONYLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


@pytest.fixture(autouse=True)
def settings_from_environment():
    """Each test starts (and leaves) with the settings the environment gives, as a process reads them."""
    settings.load()
    yield
    settings.load()


@pytest.fixture
def settings_env(monkeypatch):
    """``settings_env(NAME=value, OTHER=None)``: change environment variables (``None`` removes one) and
    reload the settings from them, as a restarted process would; undone after the test."""

    def change(**variables: str | Path | None) -> settings.Settings:
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, str(value))
        return settings.load()

    return change


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample_photo(name: str = "astronaut") -> np.ndarray:
    """An RGB uint8 photo shipped inside scikit-image."""
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3]).astype(np.uint8)


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image.astype(np.float64) + rng.normal(0, sigma, image.shape), 0, 255).round().astype(np.uint8)


@pytest.fixture
def photo() -> np.ndarray:
    return sample_photo("astronaut")


@pytest.fixture
def photo_files(tmp_path) -> dict[str, Path]:
    """A reference photo, a noisy copy and a square foreground mask as PNG files."""
    ref = sample_photo("astronaut")[::2, ::2].copy()
    mask = np.zeros(ref.shape[:2], dtype=bool)
    mask[60:180, 80:200] = True
    paths = {"reference": tmp_path / "ref" / "photo.png", "image": tmp_path / "photo.png", "mask": tmp_path / "mask.png"}
    paths["reference"].parent.mkdir()
    Image.fromarray(ref).save(paths["reference"])
    Image.fromarray(noisy(ref, 12.0)).save(paths["image"])
    Image.fromarray(mask.astype(np.uint8) * 255).save(paths["mask"])
    return paths


class LiveApp:
    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.data_dir = data_dir
        self.log_path = data_dir / "app.log"
        env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port),
               "HARMONYLAB_DATA_DIR": str(data_dir), "GRADIO_ANALYTICS_ENABLED": "False",
               "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> LiveApp:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "config", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"app did not answer within {timeout} s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The real app on a free port of 127.0.0.1, shared by the API and browser tests of a session."""
    app = LiveApp(tmp_path_factory.mktemp("live-app")).start()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def client(live_app):
    """A gradio_client connected to the live app (shared by the API tests)."""
    from gradio_client import Client

    return Client(live_app.url, verbose=False)


@pytest.fixture(scope="session")
def chromium_browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (bash scripts/dev.sh test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()
