"""Outline-inverse harmonizers against the registered ones, leave-one-source-out (issue #23).

What it measures: the fMSE (iHarmony4 protocol, ``backend.harmonization.metrics``) as a multiple of the
composite's, per photo source of the by-source evaluation set, for

* the registered, ready harmonizers as they are (composite, reinhard, histogram, semantic-routing, srh-tiny);
* ``outline-inverse``: the inverse affine RGB map solved from the outline's mixed pixels
  (``backend.harmonization.outline``), its ridge strength and inner-band weight chosen per fold (the fold's
  training composites' mean per-source fMSE ratio over a 3 x 3 grid); ``outline-inverse (defaults)`` is the
  registered harmonizer with the module's constants;
* ``ridge-stats`` / ``hgb-stats+outline``: a predictor of the real foreground's CIELAB mean and standard deviation
  from colour statistics (``benchmarks.harmonize_bounds.cues``; ridge, and scikit-learn's
  HistGradientBoosting on the same cues plus the outline estimate's statistics), applied by Reinhard transfer;
* ``outline+hgb``: the same gradient boosting predicting what the outline estimate left (real statistics
  minus the outline output's), applied by Reinhard transfer to the outline output.

It also prints the ratios by kind of composite (pasted cut-outs, segmenter regions, and the transfer that
made the composite) and the time per 256x256 composite (``benchmarks/harmonize.py``'s timing image).

Anything with a fitted constant is fitted per fold: for held-out source S, only on the training composites
(a separate set built from the photos' train split) whose source is not S, and evaluated on the evaluation
composites of S; the figure we steer by is the mean over the six folds. For the unseen source
(``gcompris-unseen``) the constants are fitted on all six sources. Commands:

    python scripts/build_harmonization_sets.py --out data/harmonization-src6 --train 0 --val 300 \\
        --sources plasma,mate,opencv,lomiri,gcompris,lxqt --balance-sources --unseen 120
    python scripts/build_harmonization_sets.py --out data/harmonization-src6-train --train 1500 --val 0 \\
        --sources plasma,mate,opencv,lomiri,gcompris,lxqt --balance-sources
    OMP_NUM_THREADS=1 python -m benchmarks.harmonize_outline --data data/harmonization-src6 \\
        --train data/harmonization-src6-train/train

Writes ``benchmarks/results/harmonize_outline.json`` (or NAME.json with ``--results-name``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import write_results  # noqa: E402
from benchmarks.source_sets import loso_line  # noqa: E402

STRENGTHS = (0.005, 0.01, 0.02)
INNER = (0.1, 0.3, 1.0)
REGISTERED = ("composite", "reinhard", "histogram", "semantic-routing", "srh-tiny")


def load_set(root: Path, limit: int | None = None) -> list[dict]:
    from backend.data.photos import source_of
    from backend.harmonization.dataset import read_triples

    manifest = json.loads((root / "manifest.json").read_text())
    rows = []
    for triple in read_triples(root, limit):
        info = manifest.get(f"{triple.name}.png", {})
        source = "unseen" if root.name == "unseen" else info.get("source") or source_of(info.get("photo", ""))
        rows.append({"name": triple.name, "source": source, "composite": triple.composite, "mask": triple.mask,
                     "real": triple.real, "stamp": info.get("foreground_source") == "tuxpaint",
                     "transfer": info.get("transfer", "?")})
    return rows


def fmse(image: np.ndarray, row: dict) -> float:
    from backend.harmonization.metrics import harmonization_errors

    return harmonization_errors(image, row["real"], row["mask"]).fmse


def ratio(values: list[float], base: list[float]) -> float:
    return float(np.mean(values) / np.mean(base))


def outline_output(row: dict, config: dict) -> np.ndarray:
    from backend.harmonization import outline

    return outline.harmonize_arrays(row["composite"], row["mask"], **config)[0]


def per_source_ratio(values: np.ndarray, base: np.ndarray, sources: np.ndarray, keep: np.ndarray) -> float:
    """Mean over the sources in ``keep`` of each source's fMSE ratio (the LOSO figure's own averaging)."""
    chosen = sorted(set(sources[keep]))
    return float(np.mean([values[keep & (sources == s)].mean() / base[keep & (sources == s)].mean() for s in chosen]))


def choose(table: dict[str, np.ndarray], base: np.ndarray, sources: np.ndarray, keep: np.ndarray) -> str:
    """The configuration (key of ``table``: per-image training fMSE) with the lowest mean per-source ratio on ``keep``."""
    return min(table, key=lambda key: per_source_ratio(table[key], base, sources, keep))


def statistics_features(row: dict, outline_image: np.ndarray) -> np.ndarray:
    from benchmarks.harmonize_bounds import cues, region_statistics

    return np.concatenate([cues(row["composite"], row["mask"]), region_statistics(outline_image[row["mask"]])[:6]])


def stats_target(row: dict, start: np.ndarray | None = None) -> np.ndarray:
    """The real foreground's CIELAB mean/std minus those of ``start`` (default: the composite)."""
    from benchmarks.harmonize_bounds import region_statistics

    start = row["composite"] if start is None else start
    return region_statistics(row["real"][row["mask"]])[:6] - region_statistics(start[row["mask"]])[:6]


def timing_256(skip_registered: bool) -> dict[str, float]:
    """Best-of-5 seconds per 256x256 composite (the timing image of ``benchmarks/harmonize.py``), segmentation
    cache cleared before each call."""
    from backend import registry
    from backend.segmentation.models import get_segmenter
    from benchmarks.common import best_seconds_interleaved
    from benchmarks.harmonize import timing_inputs

    image, mask = timing_inputs(256, 256)
    segmenter = get_segmenter()
    names = ["outline-inverse", "reinhard"] + ([] if skip_registered else ["semantic-routing"])

    def timed(model):
        def run():
            segmenter.clear_cache()
            model.harmonize(image, mask)
        return run

    return best_seconds_interleaved({n: timed(registry.create(n)) for n in names}, repeats=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/harmonization-src6", help="the by-source set (val/ and unseen/ inside)")
    parser.add_argument("--train", default="data/harmonization-src6-train/train", help="training composites (train split)")
    parser.add_argument("--limit", type=int, help="only the first N composites of each set (a quick look)")
    parser.add_argument("--skip-registered", action="store_true", help="leave out the registered harmonizers")
    parser.add_argument("--results-name", default="harmonize_outline", help="benchmarks/results/NAME.json")
    args = parser.parse_args(argv)

    import torch
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from backend import registry
    from backend.data import by_source
    from backend.harmonization import outline
    from benchmarks.harmonize_bounds import learned_target

    torch.set_num_threads(1)
    started = time.time()
    train = load_set(Path(args.train), args.limit)
    evaluation = load_set(Path(args.data) / "val", args.limit) + load_set(Path(args.data) / "unseen", args.limit)
    train_sources = np.array([r["source"] for r in train])
    eval_sources = np.array([r["source"] for r in evaluation])
    train_base = np.array([fmse(r["composite"], r) for r in train])
    eval_fmse: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}

    names = [n for n in REGISTERED if registry.status(n).ready] if not args.skip_registered else ["composite"]
    for name in names:
        model = registry.create(name)
        tick = time.perf_counter()
        eval_fmse[name] = np.array([fmse(model.harmonize(r["composite"], r["mask"]).image, r) for r in evaluation])
        seconds[name] = (time.perf_counter() - tick) / len(evaluation)
        print(f"{name}: {seconds[name] * 1000:.1f} ms per composite", flush=True)

    # outline-inverse: per-image fMSE of every configuration on the training and the evaluation composites
    configs = {f"strength={s:g},inner={i:g}": {"strength": s, "inner": i} for s in STRENGTHS for i in INNER}
    train_table = {key: np.array([fmse(outline_output(r, c), r) for r in train]) for key, c in configs.items()}
    eval_table = {}
    for key, config in configs.items():
        tick = time.perf_counter()
        eval_table[key] = np.array([fmse(outline_output(r, config), r) for r in evaluation])
        seconds.setdefault("outline-inverse", (time.perf_counter() - tick) / len(evaluation))
    print(f"outline configurations measured ({time.time() - started:.0f} s)", flush=True)

    # statistics predictors (ridge on the bounds script's cues; gradient boosting on the cues + outline estimate)
    default = outline.DEFAULTS
    train_outline = [outline_output(r, default) for r in train]
    eval_outline = [outline_output(r, default) for r in evaluation]
    train_x = np.array([statistics_features(r, o) for r, o in zip(train, train_outline, strict=True)])
    eval_x = np.array([statistics_features(r, o) for r, o in zip(evaluation, eval_outline, strict=True)])
    train_y = np.array([stats_target(r) for r in train])
    train_y_after = np.array([stats_target(r, o) for r, o in zip(train, train_outline, strict=True)])
    cue_columns = train_x.shape[1] - 6
    learners = {
        "ridge-stats": (lambda: make_pipeline(StandardScaler(), Ridge(alpha=1.0)), slice(0, cue_columns)),
        "hgb-stats+outline": (lambda: MultiOutputRegressor(HistGradientBoostingRegressor(max_iter=150, learning_rate=0.05,
                                                                                         max_leaf_nodes=15)),
                              slice(0, None)),
        # the same, predicting what is left after the outline estimate, applied to the outline estimate's output
        "outline+hgb": (lambda: MultiOutputRegressor(HistGradientBoostingRegressor(max_iter=150, learning_rate=0.05,
                                                                                   max_leaf_nodes=15)),
                        slice(0, None)),
    }

    folds = {source: (train_sources != source, eval_sources == source) for source in sorted(set(train_sources))}
    folds["unseen"] = (np.ones(len(train), bool), eval_sources == "unseen")
    chosen: dict[str, str] = {}
    fitted_rows: dict[str, np.ndarray] = {"outline-inverse": np.full(len(evaluation), np.nan)}
    for learner in learners:
        fitted_rows[learner] = np.full(len(evaluation), np.nan)
    for fold, (train_rows, eval_rows) in folds.items():
        key = choose(train_table, train_base, train_sources, train_rows)
        chosen[fold] = key
        fitted_rows["outline-inverse"][eval_rows] = eval_table[key][eval_rows]
        for learner, (make, columns) in learners.items():
            after = learner == "outline+hgb"
            model = make().fit(train_x[train_rows][:, columns], (train_y_after if after else train_y)[train_rows])
            change = model.predict(eval_x[eval_rows][:, columns])
            indices = np.nonzero(eval_rows)[0]
            starts = [eval_outline[i] if after else evaluation[i]["composite"] for i in indices]
            fitted_rows[learner][indices] = [fmse(learned_target(start, evaluation[i]["mask"], ch), evaluation[i])
                                             for i, start, ch in zip(indices, starts, change, strict=True)]
        print(f"fold {fold}: outline-inverse {key}", flush=True)
    eval_fmse.update(fitted_rows)
    eval_fmse["outline-inverse (defaults)"] = np.array([fmse(o, r) for r, o in zip(evaluation, eval_outline, strict=True)])

    base = eval_fmse["composite"]
    blocks = {}
    for name, values in eval_fmse.items():
        per_source = {s: {"fmse_ratio": float(values[eval_sources == s].mean() / base[eval_sources == s].mean()),
                          "count": int((eval_sources == s).sum())} for s in sorted(set(eval_sources)) if s != "unseen"}
        block = by_source.summary(per_source)
        unseen = eval_sources == "unseen"
        block["unseen"] = {"fmse_ratio": float(values[unseen].mean() / base[unseen].mean()), "count": int(unseen.sum())}
        blocks[name] = block
    stamps = np.array([r["stamp"] for r in evaluation])
    print("\nfMSE x composite by photo source, leave-one-source-out (held-out sources, their mean; unseen):")
    for name, block in blocks.items():
        print(loso_line(name, block, ("fmse_ratio",), width=28))
    print("\nseconds per composite (~320 px long side): " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in seconds.items()))
    transfers = np.array([r["transfer"] for r in evaluation])
    kinds = {"pasted cut-outs": stamps, "segmenter regions": ~stamps,
             **{f"transfer {t}": transfers == t for t in sorted(set(transfers))}}
    split = {name: {kind: float(v[rows].mean() / base[rows].mean()) for kind, rows in kinds.items()}
             for name, v in eval_fmse.items()}
    print("\nfMSE x composite by kind of composite, all evaluation composites (" +
          ", ".join(f"{k} {int(r.sum())}" for k, r in kinds.items()) + "):")
    for name, row in split.items():
        print(f"{name:<28} " + " ".join(f"{value:>8.3f}" for value in row.values()))
    timing = timing_256(args.skip_registered)
    print("seconds per 256x256 composite (best of 5): " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in timing.items()))
    write_results(args.results_name, {
        "data": args.data, "train": args.train, "train_images": len(train), "eval_images": len(evaluation),
        "by_source": blocks, "chosen_configuration_per_fold": chosen, "configurations": list(configs),
        "fmse_ratio_by_foreground_kind_all_eval": split, "seconds_per_composite": seconds,
        "seconds_256x256_best_of_5": timing,
        "outline_defaults": default,
        "note": ("fitted methods are fitted per fold on the training composites of the other sources (unseen: all six); "
                 "'outline-inverse (defaults)' uses the module's constants, chosen once on the whole training set"),
        "wall_seconds": time.time() - started})
    return 0


if __name__ == "__main__":
    sys.exit(main())
