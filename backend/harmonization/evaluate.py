"""Evaluation of a harmonizer on a data set (paper 002 Sec. 4.1 / Tables 1-2, iHarmony4 protocol).

Each composite is harmonized at its own size; ``backend.harmonization.metrics.harmonization_errors`` then
measures MSE / fMSE / PSNR / fPSNR at 256x256 and ``summarize`` averages them overall and per
foreground-ratio bucket (0-5 %, 5-15 %, 15-100 %). Time per image is measured around ``harmonize`` only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from backend.harmonization.dataset import list_triples, read_triples
from backend.harmonization.metrics import harmonization_errors, summarize


def evaluate_harmonizer(harmonizer, root: str | Path, limit: int | None = None, progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm


    total = len(list_triples(root)[:limit])
    errors, rows, seconds = [], [], 0.0
    for triple in tqdm(read_triples(root, limit), total=total, desc=f"evaluating {harmonizer.card.name}",
                       unit="img", file=sys.stderr, disable=not progress):
        start = time.perf_counter()
        result = harmonizer.harmonize(triple.composite, triple.mask)
        seconds += time.perf_counter() - start
        error = harmonization_errors(result.image, triple.real, triple.mask)
        errors.append(error)
        rows.append({"image": triple.name, **error.as_dict()})
    return {"method": harmonizer.card.name, "images": len(errors), "seconds_per_image": seconds / max(1, len(errors)),
            "table": summarize(errors), "per_image": rows}
