"""How the seam cue looks for the foreground without a mask: region proposals chosen leave-one-source-out (#23).

``backend.iqa.harmonyiqa.seam`` scores an image without a mask by the largest shrunk seam over region
proposals of the offline segmenter. This script measures, on the by-source set of ``benchmarks/harmonyiqa.py``
(``limit`` composites per source, all nine versions of each), the SRCC against the true fMSE and the share of
composites whose real photo scores better, for each way of proposing regions:

* superpixel smoothing ``sigma`` 0.8 (the segmenter's default; the first version of the cue), 0.4 or 0, and
  superpixel ``scale`` 200 or 100 (with sigma 0);
* merge thresholds {3, 5} or {3, 5, 8, 12, 18} (CIELAB; every distinct region once);
* each proposal's seam alone, or also on its one-pixel dilation and erosion (the largest of the three).

Every figure is the mean over the six photo sources; the *leave-one-source-out* figure picks, for each held-out
source, the setting with the best mean SRCC on the other five and reports it on the held-out one (the unseen
source ``gcompris-unseen`` is scored with the setting the six sources pick, and picks nothing). Also printed:
the true mask's seam, and the true mask moved by one pixel (dilated, eroded), which shows how exactly a
proposal must follow the recoloured outline. Run:

    python -m benchmarks.seam_search [--data data/harmonyiqa-lite-src6] [--limit 40] [--results-name seam_search]

Writes ``benchmarks/results/seam_search.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import write_results  # noqa: E402

SUPERPIXELS = {"sigma 0.8": (0.8, 200.0), "sigma 0.4": (0.4, 200.0), "sigma 0": (0.0, 200.0),
               "sigma 0, scale 100": (0.0, 100.0)}
THRESHOLD_SETS = {"{3,5}": (3.0, 5.0), "{3,5,8,12,18}": (3.0, 5.0, 8.0, 12.0, 18.0)}
MORPH_ON = "sigma 0"  # the dilation/erosion variant is measured on this superpixel setting (3x the work)


def shrunk_seam(image: np.ndarray, region: np.ndarray) -> float:
    """The search's per-region value (``seam.search_seam``): seam shrunk for short outlines, 0 when unmeasurable."""
    from backend.iqa.harmonyiqa.seam import outline_residuals

    parts = outline_residuals(image, region)
    if not np.isfinite(parts["seam"]) or parts["pixels"] < 20:
        return 0.0
    root = np.sqrt(parts["pixels"])
    return float(parts["seam"] * root / (root + 5.0))


def one_pixel_moves(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    kernel = np.ones((3, 3), np.uint8)
    as_bytes = mask.astype(np.uint8)
    return cv2.dilate(as_bytes, kernel).astype(bool), cv2.erode(as_bytes, kernel).astype(bool)


def image_values(image: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """The no-mask seam of ``image`` under every setting, and the true mask's seams."""
    from backend.iqa.harmonyiqa.seam import SEARCH_AREA, SEARCH_SIDE, _shrink, seam_of
    from backend.segmentation.regions import region_proposals

    small, small_mask = _shrink(image, mask, SEARCH_SIDE)
    values = {"true mask": seam_of(small, small_mask)}
    grown, shrunk = one_pixel_moves(small_mask)
    values["true mask dilated 1 px"] = seam_of(small, grown)
    values["true mask eroded 1 px"] = seam_of(small, shrunk)
    for label, (sigma, scale) in SUPERPIXELS.items():
        # region_proposals lists each region at the first threshold that forms it, so the regions of a prefix of
        # the thresholds are a prefix of the list: the seams are computed once, on the widest set
        regions = region_proposals(small, THRESHOLD_SETS["{3,5,8,12,18}"], scale=scale, sigma=sigma, area=SEARCH_AREA)
        seams = [shrunk_seam(small, r) for r in regions]
        moved = ([max(shrunk_seam(small, m) for m in one_pixel_moves(r)) for r in regions]
                 if label == MORPH_ON else None)
        for name, thresholds in THRESHOLD_SETS.items():
            count = len(region_proposals(small, thresholds, scale=scale, sigma=sigma, area=SEARCH_AREA))
            values[f"{label}, {name}"] = max(seams[:count], default=0.0)
            if moved is not None:
                values[f"{label}, {name}, +1 px moves"] = max([*seams[:count], *moved[:count]], default=0.0)
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/harmonyiqa-lite-src6", help="folder written by `harmonyiqa lite-data`")
    parser.add_argument("--limit", type=int, default=40, help="composites per source (all their versions)")
    parser.add_argument("--results-name", default="seam_search", help="benchmarks/results/NAME.json")
    args = parser.parse_args(argv)

    from benchmarks.harmonyiqa import by_source_table, decode_rows, source_figures

    started = time.time()
    table = by_source_table(args.data, args.limit)
    rows = decode_rows(table)
    sources = table["source"].to_numpy()
    per_image = [image_values(image, mask) for image, _, mask in rows]
    settings = list(per_image[0])
    held = [s for s in sorted(set(sources)) if s != "gcompris-unseen"]
    figures = {}
    for setting in settings:
        scores = -np.array([values[setting] for values in per_image])  # a larger seam is worse
        figures[setting] = {s: source_figures(scores, table, sources == s) for s in [*held, "gcompris-unseen"]
                            if (sources == s).any()}

    def mean_over(setting: str, chosen_sources: list[str], key: str = "srcc") -> float:
        return float(np.nanmean([figures[setting][s][key] for s in chosen_sources]))

    searches = [s for s in settings if not s.startswith("true mask")]
    print(f"{'setting':<40} {'SRCC':>6} {'real>comp':>9} {'unseen':>7}  per source")
    for setting in settings:
        unseen = figures[setting].get("gcompris-unseen", {}).get("srcc", float("nan"))
        print(f"{setting:<40} {mean_over(setting, held):>6.3f} {mean_over(setting, held, 'real_preferred'):>9.3f} "
              f"{unseen:>7.3f}  " + " ".join(f"{s}:{figures[setting][s]['srcc']:.2f}" for s in held))
    loso = {}
    for source in held:
        others = [s for s in held if s != source]
        best = max(searches, key=lambda setting: mean_over(setting, others))
        loso[source] = {"chosen": best, **figures[best][source]}
    on_all = max(searches, key=lambda setting: mean_over(setting, held))
    summary = {"srcc": float(np.mean([v["srcc"] for v in loso.values()])),
               "real_preferred": float(np.mean([v["real_preferred"] for v in loso.values()])),
               "unseen": {"chosen": on_all, **figures[on_all].get("gcompris-unseen", {})}}
    print("\nleave-one-source-out (each fold picks on the other five): "
          + " ".join(f"{s}:{v['srcc']:.3f} ({v['chosen']})" for s, v in loso.items())
          + f"\nmean SRCC {summary['srcc']:.3f}, real preferred {summary['real_preferred']:.3f}; "
          f"the six sources pick '{on_all}', unseen SRCC {summary['unseen'].get('srcc', float('nan')):.3f}")
    write_results(args.results_name, {
        "data": args.data, "composites_per_source": args.limit, "images": len(rows),
        "figures": figures, "leave_one_source_out": loso, "summary": summary,
        "wall_seconds": time.time() - started})
    return 0


if __name__ == "__main__":
    sys.exit(main())
