"""Classical metric speed: images/s through HarmonyLab against pyiqa 0.1.16 called directly, and the values.

For each metric and case -- one 512x384 pair, one 1024x768 pair, a batch of 32 pairs at 512x384 (a photo
with Gaussian noise of different seeds, ``benchmarks.common.photo_pair``) -- the paths in ``PATHS`` are timed
interleaved (best of ``--repeats`` after a warm-up call, so load from other processes affects them alike):
``harmonylab`` is ``backend.scoring.score_images`` on in-memory arrays (validation, registry, batching and
the result table included; the registry's default implementation, ``fast`` for these metrics), ``fast`` the
bare ``backend.iqa.classical.fast.fast_scores``, ``fast_cold`` the same with its per-image-size filters
(FSIM, CW-SSIM) rebuilt on every call, as for the first image of a new size, and ``pyiqa`` pyiqa itself. The
table gives images/s of each path, the speed-up harmonylab / pyiqa and the largest |harmonylab - pyiqa|
over the case's scores. pyiqa gets ``float32(uint8 / 255)`` tensors as ``backend.iqa.classical`` gives it;
entropy's batch goes to pyiqa 4 images at a time (its one-hot histogram takes 400 MB per 512x384 image).

Targets: ssim, ms_ssim, vif, cw_ssim, fsim, entropy at least 5x pyiqa's images/s; the others no slower.
VIF's difference is pyiqa's float32 error (see ``backend/iqa/classical/fast/vif.py``), not ours.

Both paths get ``--threads`` threads (torch, OpenCV, scipy FFT workers); each row records the 1-minute load
average before and after it, since other processes on a shared machine slow torch's threads most.

Run: ``python -m benchmarks.score_speed [--metrics ssim,vif] [--repeats 3] [--threads 2]``;
writes ``benchmarks/results/score_speed.json``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable

import numpy as np

from backend.iqa.classical.fast import FAST_METRICS, FULL_REFERENCE, clear_caches, fast_scores
from benchmarks.common import photo_pair, write_results

# A scoring path: images (list of HxWx3 uint8), references (list or None) -> float64 scores.
ScoreFunction = Callable[[list[np.ndarray], list[np.ndarray] | None], np.ndarray]
CASES = (("512x384", 512, 384, 1), ("1024x768", 1024, 768, 1), ("32 x 512x384", 512, 384, 32))
PYIQA_CHUNK = {"entropy": 4}  # images per pyiqa call, where a whole batch would not fit in memory
TARGET_SPEEDUP = {"ssim": 5, "ms_ssim": 5, "vif": 5, "cw_ssim": 5, "fsim": 5, "entropy": 5}


THREADS = 2  # set by --threads: torch and OpenCV threads, scipy FFT workers


def fast_path(name: str) -> ScoreFunction:
    import scipy.fft

    def score(images, references):
        with scipy.fft.set_workers(THREADS):
            return fast_scores(name, images, references)

    return score


def fast_cold_path(name: str) -> ScoreFunction:
    """The fast path as on the first image of a new size: per-size filters are rebuilt on every call."""
    fast = fast_path(name)

    def score(images, references):
        clear_caches()
        return fast(images, references)

    return score


def harmonylab_path(name: str) -> ScoreFunction:
    """The Score tab's and the CLI's path: the scoring service on arrays, one call for the whole batch."""
    from backend.scoring import score_images

    def score(images, references):
        table = score_images(images, [name], references=references)
        return table["score"].to_numpy(np.float64)

    return score


def pyiqa_path(name: str) -> ScoreFunction:
    import pyiqa
    import torch

    metric = pyiqa.create_metric(name, device="cpu")
    chunk = PYIQA_CHUNK.get(name, 1_000_000)

    def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(np.stack(images))).permute(0, 3, 1, 2).float().div_(255.0)

    def score(images, references):
        values = []
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for start in range(0, len(images), chunk):
                batch = to_tensor(images[start : start + chunk])
                if references is None:
                    values.append(metric(batch))
                else:
                    values.append(metric(batch, to_tensor(references[start : start + chunk])))
        return torch.cat([v.reshape(-1) for v in values]).double().numpy()

    return score


# path name -> factory(metric name) -> scoring function; "harmonylab" and "pyiqa" give the speed-up and the
# difference, the others only their images/s.
PATHS: dict[str, Callable[[str], ScoreFunction]] = {"harmonylab": harmonylab_path, "fast": fast_path,
                                                    "fast_cold": fast_cold_path, "pyiqa": pyiqa_path}


def time_callables(
    functions: dict[str, ScoreFunction],
    images: list[np.ndarray],
    references: list[np.ndarray] | None,
    repeats: int,
    warmup: bool = True,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Best-of-``repeats`` seconds of each ``fn(images, references)``, the functions called in turn (after
    one untimed warm-up call each, unless ``warmup`` is False), and each function's scores."""
    scores = {}
    if warmup:
        scores = {name: np.asarray(fn(images, references), dtype=np.float64) for name, fn in functions.items()}
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            values = fn(images, references)
            best[name] = min(best[name], time.perf_counter() - start)
            scores.setdefault(name, np.asarray(values, dtype=np.float64))
    return best, scores


def time_callable(
    fn: ScoreFunction, images: list[np.ndarray], references: list[np.ndarray] | None, repeats: int, warmup: bool = True
) -> float:
    """Best-of-``repeats`` seconds of ``fn(images, references)``."""
    return time_callables({"fn": fn}, images, references, repeats, warmup)[0]["fn"]


def case_inputs(width: int, height: int, count: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    pairs = [photo_pair(width, height, seed=seed) for seed in range(count)]
    return [image for image, _ in pairs], [reference for _, reference in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", default=",".join(FAST_METRICS), help="comma-separated metric names")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per path and case (best is kept)")
    parser.add_argument("--batch-repeats", type=int, default=1,
                        help="timed calls for the batch of 32 (no warm-up: the sizes are warm from the 512x384 case)")
    parser.add_argument("--threads", type=int, default=2, help="torch and OpenCV threads, scipy FFT workers")
    parser.add_argument("--results-name", default="score_speed", help="benchmarks/results/NAME.json")
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
    unknown = sorted(set(metrics) - set(FAST_METRICS))
    if unknown:
        parser.error(f"no fast version of {', '.join(unknown)}; choose from {', '.join(FAST_METRICS)}")

    rows = []
    header = f"{'metric':<9} {'case':<13} " + " ".join(f"{p + ' img/s':>12}" for p in PATHS) + f" {'speed-up':>9} {'max |diff|':>11}"
    print(header)
    for name in metrics:
        functions = {path: factory(name) for path, factory in PATHS.items()}
        for label, width, height, count in CASES:
            images, references = case_inputs(width, height, count)
            refs = references if name in FULL_REFERENCE else None
            repeats = args.batch_repeats if count > 1 else args.repeats
            load_before = os.getloadavg()[0]
            seconds, scores = time_callables(functions, images, refs, repeats, warmup=count == 1)
            speedup = seconds["pyiqa"] / seconds["harmonylab"]
            difference = float(np.max(np.abs(scores["harmonylab"] - scores["pyiqa"])))
            row = {"metric": name, "case": label, "images": count, "repeats": repeats,
                   **{f"{path}_images_per_s": count / seconds[path] for path in PATHS},
                   "speedup": speedup, "max_abs_difference": difference,
                   "target_speedup": TARGET_SPEEDUP.get(name, 1),
                   "load_average_1min": [load_before, os.getloadavg()[0]]}
            rows.append(row)
            print(f"{name:<9} {label:<13} " + " ".join(f"{count / seconds[p]:>12.2f}" for p in PATHS)
                  + f" {speedup:>8.1f}x {difference:>11.1e}", flush=True)
    write_results(args.results_name, {"rows": rows, "threads": args.threads, "pyiqa_chunk": PYIQA_CHUNK})


if __name__ == "__main__":
    main()
