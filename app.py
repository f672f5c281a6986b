"""HarmonyLab entry point (also the Hugging Face Spaces entry): ``python app.py``.

Reads the settings once (``backend.settings``; a bad value stops here with one sentence naming the
variable), builds the page from them and serves it on http://127.0.0.1:7860 by default
(``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT``; the Docker image and Spaces use 0.0.0.0). Models load
lazily, on first use.
"""

from __future__ import annotations

import gc
import sys
import threading

from starlette.middleware import Middleware

from backend import settings
from ui import rest
from ui.app import PAGE_CSS, PAGE_HEAD, build_app
from ui.gradio_http import GradioGuard

try:
    config = settings.load()
except settings.SettingsError as error:
    sys.exit(f"HarmonyLab cannot start: {error}")

demo = build_app(config)


def warm_up_imports() -> None:
    """What the first score and the first chart need, loaded while nobody waits for it; then the collector is
    kept off what is loaded (a full collection would otherwise scan the millions of objects of torch and pause
    every request for 0.1-0.4 s, benchmarks/annotation_load.py)."""
    from ui.score import warm_up

    warm_up()
    gc.freeze()


if __name__ == "__main__":
    # started before launch: the warm-up runs while the server starts, so the first score after the page is
    # ready does not share the interpreter with it (benchmarks/startup.py)
    threading.Thread(target=warm_up_imports, name="warm-up", daemon=True).start()
    demo.queue(default_concurrency_limit=config.concurrency)
    # app_kwargs: the plain JSON annotation API (ui/rest.py) on the same server and port, and the guard of the
    # Annotate tab's Gradio endpoints (ui/gradio_http.py: input bounds, 4xx statuses for user errors)
    demo.launch(server_name=config.server_name, server_port=config.server_port, max_file_size=config.max_upload,
                show_error=True, prevent_thread_lock=True, css=PAGE_CSS, head=PAGE_HEAD,
                app_kwargs={"routes": rest.routes(), "middleware": [
                    Middleware(GradioGuard, api_names={index: fn.api_name for index, fn in demo.fns.items()})]})
    demo.block_thread()
