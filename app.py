"""HarmonyLab entry point (also the Hugging Face Spaces entry): ``python app.py``.

Serves on http://127.0.0.1:7860 by default; ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` override the
address (the Docker image and Spaces use 0.0.0.0). Models load lazily, on first use.
"""

from __future__ import annotations

import gc
import os
import threading

from ui import rest
from ui.app import build_app

MAX_UPLOAD = os.environ.get("HARMONYLAB_MAX_UPLOAD", "100mb")

demo = build_app()


def warm_up_imports() -> None:
    import pyiqa  # noqa: F401

    # Keep the collector off what is loaded now: a full collection would otherwise scan the millions of
    # objects of torch/pyiqa and pause every request for 0.1-0.4 s (benchmarks/annotation_load.py).
    gc.freeze()

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=int(os.environ.get("HARMONYLAB_CONCURRENCY", "4")))
    # app_kwargs routes: the plain JSON annotation API (ui/rest.py) on the same server and port
    demo.launch(max_file_size=MAX_UPLOAD, show_error=True, prevent_thread_lock=True,
                app_kwargs={"routes": rest.routes()})
    # Import the scoring libraries in the background once the page is served, so the first score is quick;
    # models themselves are still built lazily, on first use.
    threading.Thread(target=warm_up_imports, name="warm-up", daemon=True).start()
    demo.block_thread()
