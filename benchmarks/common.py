"""Helpers for the benchmark scripts: timing, test photos and writing results to benchmarks/results/."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backend.timing import best_seconds

__all__ = ["RESULTS_DIR", "best_seconds", "best_seconds_interleaved", "machine", "photo_pair", "write_results"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import os

    import torch

    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__, "platform": platform.platform()}


def best_seconds_interleaved(functions: dict[str, Callable[[], object]], repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` time of each function, calling them in turn so that load from other processes
    affects all of them alike (a fair ratio on a busy machine)."""
    for function in functions.values():
        function()
    best = {name: float("inf") for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def photo_pair(width: int, height: int, sigma: float = 10.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A scikit-image photo resized to width x height, and a noisy copy of it."""
    import skimage.data
    from PIL import Image

    reference = np.asarray(Image.fromarray(skimage.data.chelsea()).resize((width, height), Image.BICUBIC))
    rng = np.random.default_rng(seed)
    distorted = np.clip(reference + rng.normal(0, sigma, reference.shape), 0, 255).astype(np.uint8)
    return distorted, np.ascontiguousarray(reference)


def write_results(name: str, payload: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"machine": machine(), "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"), **payload}
    path.write_text(json.dumps(payload, indent=2))
    print(f"wrote {path}")
    return path
