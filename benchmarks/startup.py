"""Start-up targets: ``python app.py`` serves its first page within 10 s; the first classical score within 2 s.

Starts the real app on a free port (fresh process, as a user would), times the first HTTP 200 of the page,
then times the first ``/score`` call (psnr + ssim on a 512x384 pair) with gradio_client, and a second call.
A call from a new client (the server warm by then) shows how much of the first call is the client's own
first-use cost (gradio_client opens its event stream with a new ``httpx.Client`` on its first call); the
server's side of the first call matches the later calls once ``app.py``'s warm-up has run (it starts before
``launch``, while the server starts). The whole measurement runs ``--runs`` times (default 3, a fresh process
each); the figures printed and written are the medians, each run's figures beside them.
Run: ``python -m benchmarks.startup [--runs 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from benchmarks.common import photo_pair, write_results
from tests.conftest import LiveApp


def measure_once() -> dict[str, float]:
    """One fresh app process: seconds to the first page, the first, second and a new client's score."""
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        image, reference = photo_pair(512, 384)
        (folder / "ref").mkdir()
        Image.fromarray(image).save(folder / "x.png")
        Image.fromarray(reference).save(folder / "ref" / "x.png")

        def score(client: Client) -> float:
            begin = time.perf_counter()
            client.predict([handle_file(str(folder / "x.png"))], [handle_file(str(folder / "ref" / "x.png"))], None,
                           ["psnr", "ssim"], api_name="/score")
            return time.perf_counter() - begin

        app = LiveApp(folder)
        start = time.perf_counter()
        app.start()
        first_page = time.perf_counter() - start
        try:
            client = Client(app.url, verbose=False)
            first, second = score(client), score(client)
            new_client = score(Client(app.url, verbose=False))
        finally:
            app.stop()
    return {"first_page_s": first_page, "first_score_s": first, "second_score_s": second,
            "new_client_score_s": new_client}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh app processes to measure (median reported)")
    runs = [measure_once() for _ in range(max(parser.parse_args().runs, 1))]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    for number, run in enumerate(runs, 1):
        print(f"run {number}: " + ", ".join(f"{key} {value:.2f}" for key, value in run.items()))
    print(f"first page served after {median['first_page_s']:.2f} s (target 10 s; median of {len(runs)})")
    print(f"first classical score (psnr+ssim, 512x384) {median['first_score_s']:.2f} s (target 2 s); "
          f"second {median['second_score_s']:.2f} s; a new client's first {median['new_client_score_s']:.2f} s")
    write_results("startup", {**median, "runs": runs, "targets": {"first_page_s": 10, "first_score_s": 2}})


if __name__ == "__main__":
    main()
