"""Best-of-N wall time, shared by the benchmark scripts and the commands that record speed in model cards."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(function: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Best-of-``repeats`` wall time of ``function`` after ``warmup`` calls (robust to noise on 2 cores)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
