"""Compare2Score (paper 001): speed with the offline comparator and SRCC on held-out distorted photos.

Measures, on the TEST split of the distorted-photo set (photos never seen by the comparator's training
nor used as anchors; build it with ``python scripts/build_distorted_photos.py``):

* images/s of the whole Compare2Score step (5 default anchors, cached P_a, batched) with ``c2s-siamese``
  from decoded arrays, and the share of that time spent in the MAP step (Eq. 6);
* SRCC of the scores against the distortion level (negated: higher level = worse) and against the MOS
  proxy, for the offline comparator (probability matrix and Table 3's count matrix), the registry-model
  comparators ``nr-thurstone:<model>`` that have a fitted spread, and those models' raw scores.

Targets (not tests): >= 10 images/s on CPU with 5 anchors; MAP step < 5 % of the time.
By photo source (issue #23; ``--by-source``, ``benchmarks.source_sets``): up to ``--photos-per-source``
photos of every source and of the unseen source (photos of at most 384 px, as in the scored set) with
Gaussian noise, Gaussian blur and JPEG at levels 0-5, scored by ``compare2score`` (c2s-siamese comparator, default
anchors) and the classical NR metrics: SRCC against -level per source (pooled and within photo and family),
mean over sources and on the unseen source. The comparator trained on train photos of plasma, mate and opencv,
and its anchors are such photos, so those sources are not held out for it.
Run: ``python -m benchmarks.compare2score [--limit N] [--repeats R] [--by-source [--skip-split]]``; writes
``benchmarks/results/compare2score.json`` (``--results-name``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SCORED_SET = REPO / "data" / "distorted_photos" / "scores.csv"


def srcc(scores, table) -> dict:
    """SRCC against -level and MOS; ``None`` with a note when the scores are constant (undefined SRCC)."""
    from scipy import stats

    scores = np.asarray(scores, dtype=float)
    if np.ptp(scores) == 0:
        return {"srcc_vs_level": None, "srcc_vs_mos": None,
                "note": "every image got the same score (all hard votes identical), so SRCC is undefined"}
    return {"srcc_vs_level": round(float(-stats.spearmanr(scores, table["level"]).statistic), 4),
            "srcc_vs_mos": round(float(stats.spearmanr(scores, table["mos"]).statistic), 4)}


def main() -> None:
    from backend import registry
    from backend.data.scored_set import read_scored_set
    from backend.iqa.compare2score.scoring import anchor_matrix, score_images
    from backend.iqa.compare2score.service import get_anchors, get_comparator
    from backend.iqa.compare2score.thurstone_nr import read_fits
    from backend.iqa.compare2score.train import load_images
    from benchmarks.common import write_results

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default=str(SCORED_SET), help="scored set with split and level columns")
    parser.add_argument("--limit", type=int, help="at most this many test images (deterministic subsample)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best is reported)")
    parser.add_argument("--by-source", action="store_true", help="also the per-source section (issue #23)")
    parser.add_argument("--photos-per-source", type=int, default=8)
    parser.add_argument("--skip-split", action="store_true", help="only the per-source section")
    parser.add_argument("--results-name", default="compare2score", help="benchmarks/results/NAME.json")
    args = parser.parse_args()
    extra = {}
    if args.by_source:
        from backend.data.photos import load_photo
        from benchmarks.source_sets import nr_by_source

        models = {name: registry.create(name) for name in ("compare2score", "piqe", "entropy")}
        extra["by_source"] = nr_by_source(models, args.photos_per_source, lambda p: load_photo(p.path, 384),
                                          trained_on={"compare2score": ["plasma", "mate", "opencv"]})
    if args.skip_split:
        write_results(args.results_name, extra)
        return

    table = read_scored_set(args.set)
    table = table[table["split"] == "test"].reset_index(drop=True)
    if args.limit and len(table) > args.limit:
        table = table.sample(n=args.limit, random_state=0).sort_index().reset_index(drop=True)
    images = load_images(table["path"], max_side=10_000, progress=False)
    anchors = get_anchors(None)
    print(f"{len(images)} held-out images from {table['photo'].nunique()} test photos, {len(anchors)} anchors")

    siamese = get_comparator("c2s-siamese")
    anchor_matrix(siamese, anchors)  # P_a is computed once per (comparator, anchor set) and cached
    score_images(siamese, anchors, images[:8])  # warm-up
    best_total, best_map = np.inf, np.inf
    for _ in range(args.repeats):
        start = time.perf_counter()
        results = score_images(siamese, anchors, images)
        total = time.perf_counter() - start
        map_seconds = sum(r.details["seconds_map"] for r in results)
        if total < best_total:
            best_total, best_map = total, map_seconds
    speed = {"images": len(images), "anchors": len(anchors), "seconds": round(best_total, 3),
             "images_per_second": round(len(images) / best_total, 2),
             "map_seconds": round(best_map, 4), "map_share": round(best_map / best_total, 4),
             "note": "decoded arrays in, scores out; P_a cached; batch of 64 images per comparator call"}
    print(f"c2s-siamese: {speed['images_per_second']} images/s, MAP share {100 * speed['map_share']:.2f} %")

    quality = {"c2s-siamese (probability matrix)": srcc([r.score for r in results], table)}
    counts = score_images(siamese, anchors, images, matrix="count")
    quality["c2s-siamese (count matrix, Table 3 baseline)"] = srcc([r.score for r in counts], table)
    fits = read_fits()
    for name in sorted(fits):
        card = registry.card(name)
        comparator = get_comparator(f"nr-thurstone:{name}")
        raw = comparator.scores(images)
        quality[f"nr-thurstone:{name} (probability matrix)"] = srcc([r.score for r in score_images(comparator, anchors, images)], table)
        quality[f"nr-thurstone:{name} (count matrix)"] = srcc(
            [r.score for r in score_images(comparator, anchors, images, matrix="count")], table)
        quality[f"{name} raw score (reference)"] = srcc(-raw if card.lower_better else raw, table)
    for name, values in quality.items():
        if values["srcc_vs_level"] is None:
            print(f"{name:48s} {values['note']}")
        else:
            print(f"{name:48s} SRCC vs level {values['srcc_vs_level']:+.3f}   vs MOS proxy {values['srcc_vs_mos']:+.3f}")
    per_family = {}
    scores = np.array([r.score for r in results])
    for family, group in table.groupby("distortion"):
        if family != "none" and len(group) > 3:
            per_family[family] = srcc(scores[group.index], group)["srcc_vs_level"]
    write_results(args.results_name, {
        **extra,
        "scored_set": str(Path(args.set).relative_to(REPO)) if Path(args.set).is_relative_to(REPO) else args.set,
        "split": "test", "speed": speed, "srcc": quality, "siamese_srcc_vs_level_per_distortion": per_family,
        "targets": {"images_per_second": 10, "map_share_below": 0.05},
        "targets_met": {"images_per_second": speed["images_per_second"] >= 10, "map_share": speed["map_share"] < 0.05},
    })


if __name__ == "__main__":
    main()
