"""Start-up targets: ``python app.py`` serves its first page within 10 s; the first classical score within 2 s.

Starts the real app on a free port (fresh process, as a user would), times the first HTTP 200 of the page,
then times the first ``/score`` call (psnr + ssim on a 512x384 pair) with gradio_client, and a second call.
Run: ``python -m benchmarks.startup``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from PIL import Image

from benchmarks.common import photo_pair, write_results
from tests.conftest import LiveApp


def main() -> None:
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        image, reference = photo_pair(512, 384)
        (folder / "ref").mkdir()
        Image.fromarray(image).save(folder / "x.png")
        Image.fromarray(reference).save(folder / "ref" / "x.png")
        app = LiveApp(folder)
        start = time.perf_counter()
        app.start()
        first_page = time.perf_counter() - start
        try:
            client = Client(app.url, verbose=False)
            calls = []
            for _ in range(2):
                begin = time.perf_counter()
                client.predict([handle_file(str(folder / "x.png"))], [handle_file(str(folder / "ref" / "x.png"))], None,
                               ["psnr", "ssim"], api_name="/score")
                calls.append(time.perf_counter() - begin)
        finally:
            app.stop()
    print(f"first page served after {first_page:.2f} s (target 10 s)")
    print(f"first classical score (psnr+ssim, 512x384) {calls[0]:.2f} s (target 2 s); second {calls[1]:.2f} s")
    write_results("startup", {"first_page_s": first_page, "first_score_s": calls[0], "second_score_s": calls[1],
                              "targets": {"first_page_s": 10, "first_score_s": 2}})


if __name__ == "__main__":
    main()
