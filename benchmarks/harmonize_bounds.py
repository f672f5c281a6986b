"""How much of a composite's foreground error can be removed on our data set (context for paper 002's fMSE).

The Harmonize target (the shipped network at <= 0.40 x the composite's fMSE, DoveNet's ratio on iHarmony4)
assumes the foreground's true colours can be inferred from the composite. This script measures, on the
validation set of ``scripts/build_harmonization_sets.py``, the fMSE ratio (iHarmony4 protocol,
``backend.harmonization.metrics``) of

* three *oracles* that know the real foreground and keep only a global colour change of the composite's
  foreground: the least-squares RGB affine map (the output family of the shipped ``srh-tiny``, whose
  transform is global), Reinhard transfer to the real foreground's CIELAB mean and standard deviation
  (``colour.reinhard``), and a shift to the real foreground's mean RGB;
* a *learned* predictor of the real foreground's CIELAB mean and standard deviation from what any
  harmonizer sees -- the CIELAB statistics (mean, standard deviation, 10th and 90th percentiles) of the
  composite's foreground, its background and a 14-pixel ring around the foreground, and the foreground
  share -- fitted on the training set by ridge regression (scikit-learn, targets as changes from the
  composite's statistics) and applied by Reinhard transfer.

An oracle's ratio is the floor of its output family; the learned predictor shows how much of that the
composite's statistics give away. Run: ``python -m benchmarks.harmonize_bounds [--train DIR] [--val DIR]
[--limit N] [--results-name NAME]``; writes ``benchmarks/results/harmonize_bounds.json`` (or NAME.json). With the builder's manifest, the
ratios are also given per kind of composite (donor transfer, retouch swap), as in ``benchmarks/harmonize.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import write_results  # noqa: E402

RING_PIXELS = 14


def region_statistics(pixels: np.ndarray) -> np.ndarray:
    from backend.harmonization.colour import to_lab

    lab = to_lab(pixels)
    return np.concatenate([lab.mean(axis=0), lab.std(axis=0), *np.percentile(lab, (10, 90), axis=0)])


def cues(composite: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What a harmonizer sees, summarised: foreground, background and ring statistics, foreground share."""
    import cv2

    grown = cv2.dilate(mask.astype(np.uint8), np.ones((2 * RING_PIXELS + 1,) * 2, np.uint8)).astype(bool)
    ring = grown & ~mask
    background = composite[~mask]
    return np.concatenate([region_statistics(composite[mask]), region_statistics(background),
                           region_statistics(composite[ring] if ring.any() else background), [mask.mean()]])


def oracle_predictions(composite: np.ndarray, mask: np.ndarray, real: np.ndarray) -> dict[str, np.ndarray]:
    from backend.harmonization.colour import LabStats, paste, reinhard

    fg, truth = composite[mask].astype(np.float64), real[mask].astype(np.float64)
    design = np.c_[fg, np.ones(len(fg))]
    affine, *_ = np.linalg.lstsq(design, truth, rcond=None)
    return {
        "oracle_affine_rgb": paste(composite, mask, np.clip(design @ affine, 0, 255)),
        "oracle_lab_mean_std": paste(composite, mask, reinhard(fg, LabStats.of(truth))),
        "oracle_rgb_mean_shift": paste(composite, mask, np.clip(fg - fg.mean(0) + truth.mean(0), 0, 255)),
    }


def learned_target(composite: np.ndarray, mask: np.ndarray, change: np.ndarray) -> np.ndarray:
    from backend.harmonization.colour import LabStats, paste, reinhard

    fg = composite[mask].astype(np.float64)
    start = region_statistics(fg)[:6]
    mean, std = start[:3] + change[:3], np.maximum(start[3:6] + change[3:6], 0.5)
    return paste(composite, mask, reinhard(fg, LabStats(mean, std)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default="data/harmonization6k/train")
    parser.add_argument("--val", default="data/harmonization/val")
    parser.add_argument("--limit", type=int, help="only the first N training composites")
    parser.add_argument("--alpha", type=float, default=1.0, help="ridge regularisation")
    parser.add_argument("--results-name", default="harmonize_bounds", help="benchmarks/results/NAME.json")
    args = parser.parse_args(argv)

    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from backend.harmonization.dataset import read_triples
    from backend.harmonization.metrics import harmonization_errors, summarize
    from benchmarks.harmonize import composite_kinds, fmse_by_kind, ratios_by_kind

    def statistics_of(root, limit=None):
        rows, changes = [], []
        for triple in read_triples(root, limit):
            rows.append(cues(triple.composite, triple.mask))
            changes.append(region_statistics(triple.real[triple.mask])[:6] - rows[-1][:6])
        return np.array(rows), np.array(changes)

    train_x, train_y = statistics_of(args.train, args.limit)
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=args.alpha)).fit(train_x, train_y)
    errors: dict[str, list] = {}
    names = []
    for triple in read_triples(args.val):
        names.append(triple.name)
        predictions = {"composite": triple.composite, **oracle_predictions(triple.composite, triple.mask, triple.real)}
        change = ridge.predict(cues(triple.composite, triple.mask)[None])[0]
        predictions["ridge_on_statistics"] = learned_target(triple.composite, triple.mask, change)
        for name, image in predictions.items():
            errors.setdefault(name, []).append(harmonization_errors(image, triple.real, triple.mask))
    tables = {name: summarize(items) for name, items in errors.items()}
    base = tables["composite"]["all"]["fmse"]
    ratios = {name: table["all"]["fmse"] / base for name, table in tables.items()}
    kinds = composite_kinds(args.val)
    by_kind = {name: fmse_by_kind([{"image": n, "fmse": e.fmse} for n, e in zip(names, items, strict=True)],
                                  kinds)
               for name, items in errors.items()}
    kind_ratios = ratios_by_kind(by_kind)
    print(f"{'predictor':<24} {'fMSE':>8} {'x composite':>12}" + "".join(f" {k:>15}" for k in by_kind["composite"]))
    for name, table in tables.items():
        print(f"{name:<24} {table['all']['fmse']:>8.1f} {ratios[name]:>12.3f}"
              + "".join(f" {r:>15.3f}" for r in kind_ratios[name].values()))
    write_results(args.results_name, {
        "train": args.train, "train_images": int(len(train_x)), "val": args.val,
        "val_images": int(tables["composite"]["all"]["count"]), "ridge_alpha": args.alpha,
        "fmse_ratio_to_composite": ratios, "fmse_ratio_by_kind": kind_ratios,
        "kind_counts": {k: v["count"] for k, v in by_kind["composite"].items()}, "tables": tables})
    return 0


if __name__ == "__main__":
    sys.exit(main())
