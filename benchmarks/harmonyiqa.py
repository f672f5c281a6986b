"""HarmonyIQA-lite benchmark (issue #9): correlation with the true error on held-out composites, and speed.

    python benchmarks/harmonyiqa.py [--data data/harmonyiqa-lite] [--split test] [--limit N] [--skip NAME ...]

Data: the ``test`` split of ``python -m backend harmonyiqa lite-data`` (composites, partly harmonized
versions, harmonizer outputs and ground truths made from test photos that no model saw in training). The
true error is the iHarmony4 fMSE against the ground truth; correlations are computed against its MOS-like
map (``lite_data.mos_from_fmse``: SRCC/KRCC are those against -fMSE, PLCC uses the 4-parameter logistic),
overall and per foreground-ratio bucket (0-5 %, 5-15 %, 15-100 %).

Rows: ``harmonyiqa-lite-nr`` and ``harmonyiqa-lite-fr``, each without and with the mask, and every other
ready IQA model of the registry that needs no prompt. Which inputs each row sees is printed and written:
FR metrics get the ground truth as reference (``sees_gt``); the mask-aware ``ih-fmse``/``ih-fpsnr`` get
the mask (``sees_mask``) -- with the ground truth and the mask, ``ih-fmse`` IS the true error (SRCC 1 by
construction), so it is reported but excluded from the comparison. Apples-to-apples groups:
``nr`` (image only), ``fr`` (image + ground truth, no mask) and ``fr+mask``.
Targets: lite <= 50 ms per image on CPU; SRCC above every classical metric of its group.
A metric that refuses an image (``backend.errors.InputError``, e.g. ms_ssim on an image under 176 px)
scores NaN for it: its row reports how many images it refused (``refused``) and its correlations use
the rest (the printed row says so), so that row is measured on a subset of the others' images.

By photo source (issue #23; ``--by-source``, on a set built with several ``--sources`` and ``--unseen``):
every composite of every split is scored and grouped by its photo's source; per source and on the unseen
source (``gcompris-unseen``) the figures are SRCC against the true quality and **real preferred** -- the share
of composites whose ground truth scored better than the composite itself (ties count half; 50 % is chance).
Training-free models (``harmonyiqa-seam``, the classical metrics) are evaluated per source as they are; the
shipped HarmonyIQA-lite networks are too (their card says which sources they trained on: on those the
figure is not held out, and ``mean_over_held_out_sources`` leaves them out). ``--loso-minutes M`` also retrains the lite model(s) of ``--loso-modes`` once per
source on the other sources (their train split; their validation split picks the epoch; M minutes each) and
evaluates every composite of the held-out source: the leave-one-source-out figure, mean over folds.
``--by-source-limit N`` keeps N composites per source (deterministic), for bounded runs.
Writes ``benchmarks/results/harmonyiqa.json`` (``--results-name``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import best_seconds, write_results  # noqa: E402
from benchmarks.source_sets import loso_line  # noqa: E402

LITE = ("harmonyiqa-lite-nr", "harmonyiqa-lite-fr")
TARGET_MS = 50.0


def load_rows(data: str, split: str, limit: int | None):
    from backend.iqa.harmonyiqa.lite.data import read_index

    table = read_index(data)
    table = table[table["split"] == split].reset_index(drop=True)
    if limit:
        composites = sorted(set(Path(p).name.split("_")[0] for p in table["reference"]))[:limit]
        table = table[[Path(p).name.split("_")[0] in composites for p in table["reference"]]].reset_index(drop=True)
    return table, decode_rows(table)


def decode_rows(table) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(image, reference, mask) of each index row; a reference or mask shared by rows is decoded once."""
    from backend.images import load_image, load_mask

    cache: dict[str, np.ndarray] = {}

    def cached(path, loader):
        if path not in cache:
            cache[path] = loader(path)
        return cache[path]

    return [(load_image(r.image), cached(r.reference, load_image), cached(r.mask, load_mask)) for r in table.itertuples()]


def entries(skip: set[str]) -> list[dict]:
    """(label, model, sees_gt, sees_mask, group) of every row of the table."""
    from backend import registry

    rows = []
    for name in LITE:
        fr = name.endswith("-fr")
        rows.append({"label": name, "model": name, "sees_gt": fr, "sees_mask": False, "group": "fr" if fr else "nr"})
        rows.append({"label": f"{name} +mask", "model": name, "sees_gt": fr, "sees_mask": True,
                     "group": "fr+mask" if fr else "nr+mask"})
    for card in registry.list_models(("iqa-fr", "iqa-nr")):
        if card.name in LITE or card.name in skip or card.needs_prompt or not registry.status(card.name).ready:
            continue
        fr = card.full_reference
        rows.append({"label": card.name, "model": card.name, "sees_gt": fr, "sees_mask": card.needs_mask,
                     "group": ("fr+mask" if card.needs_mask else "fr") if fr else "nr",
                     "is_true_error": card.name in ("ih-fmse", "ih-fpsnr")})
    return rows


def score_rows(model, rows, sees_gt: bool, sees_mask: bool) -> tuple[np.ndarray, list[str], float, int]:
    """Scores of every row (NaN where the metric refuses the image with an ``InputError``, e.g. ms_ssim on an
    image under 176 px), the first refusal messages, the seconds spent on the scored rows and their count."""
    from backend.errors import InputError

    scores, refusals, seconds, timed = [], [], 0.0, 0
    for image, reference, mask in rows:
        start = time.perf_counter()
        try:
            result = model.score(image, reference if sees_gt else None, mask if sees_mask else None)
        except InputError as error:
            scores.append(float("nan"))
            refusals.append(str(error))
            continue
        seconds += time.perf_counter() - start
        timed += 1
        scores.append(float(result.score))
    return np.array(scores, float), refusals, seconds, timed


def same_images_srcc(lite: np.ndarray, other: np.ndarray, mos: np.ndarray, other_lower_better: bool) -> dict:
    """SRCC of the lite model and of another metric against the true quality on the images both scored."""
    from backend.scaling.correlation import srcc

    both = np.isfinite(lite) & np.isfinite(other)
    return {"lite_srcc": srcc(lite[both], mos[both]), "other_srcc": srcc(other[both], mos[both], other_lower_better),
            "n": int(both.sum())}


def table_line(entry: dict) -> str:
    """One printed row: SRCC overall and per bucket, KRCC/PLCC, speed, and how many images were refused."""
    from backend.harmonization.metrics import RATIO_BUCKETS

    corr = entry["correlations"]
    refused = entry.get("refused", 0)
    note = f"  [refused {refused} image(s); correlations over the other {corr['all']['n']}]" if refused and corr else ""
    if not corr:
        return f"{entry['label']:28s} {entry['group']:8s} refused {refused} image(s): no correlation"
    return (f"{entry['label']:28s} {entry['group']:8s} " + "  ".join(
        f"{b}:{corr[b]['srcc']:+.3f}" for b in ["all"] + [x[0] for x in RATIO_BUCKETS] if b in corr)
        + f"  KRCC {corr['all']['krcc']:+.3f} PLCC {corr['all']['plcc']:+.3f}  {entry['ms_per_image_mean']:.1f} ms"
        + note)


def real_preferred(scores: np.ndarray, table, lower_better: bool = False) -> float:
    """Share of composites whose ground truth scored better than the composite (ties half; NaN rows skipped)."""
    signed = -np.asarray(scores, float) if lower_better else np.asarray(scores, float)
    wins = []
    for _, group in table.assign(value=signed).groupby("reference"):
        real, composite = group.loc[group["kind"] == "real", "value"], group.loc[group["kind"] == "composite", "value"]
        if len(real) and len(composite) and np.isfinite(real.iloc[0]) and np.isfinite(composite.iloc[0]):
            wins.append(1.0 if real.iloc[0] > composite.iloc[0] else 0.5 if real.iloc[0] == composite.iloc[0] else 0.0)
    return float(np.mean(wins)) if wins else float("nan")


def source_figures(scores: np.ndarray, table, rows: np.ndarray, lower_better: bool = False) -> dict:
    """SRCC against the true quality and the real-preferred rate on ``rows`` (a boolean mask of ``table``)."""
    from backend.scaling.correlation import srcc

    part, values = table[rows], np.asarray(scores, float)[rows]
    finite = np.isfinite(values)
    return {"srcc": srcc(values[finite], part["mos"].to_numpy(float)[finite], lower_better) if finite.sum() >= 3
            else float("nan"),
            "real_preferred": real_preferred(values, part, lower_better),
            "images": int(finite.sum()), "composites": int(part["reference"].nunique()),
            "photos": int(part["photo"].nunique())}


def by_source_table(data: str, limit: int | None):
    """Every row of the set (all splits) with images loaded, ``limit`` composites per source (None: all)."""
    from backend.iqa.harmonyiqa.lite.data import read_index

    table = read_index(data)
    if limit:
        keep = []
        for _, group in table.drop_duplicates("reference").groupby("source"):
            keep += sorted(group["reference"])[:limit]
        table = table[table["reference"].isin(keep)]
    return table.reset_index(drop=True)


BY_SOURCE_MODELS = ("harmonyiqa-seam", "harmonyiqa-lite-nr", "harmonyiqa-lite-fr", "piqe", "entropy", "psnr", "ssim")


def by_source_section(data: str, limit: int | None, models: tuple[str, ...]) -> dict:
    """Per-source and unseen figures of ``models`` (each without and, when it takes one, with the mask)."""
    from backend import registry, weights
    from backend.data import by_source

    table = by_source_table(data, limit)
    rows = decode_rows(table)
    print(f"\nby source: {len(rows)} images, {table['reference'].nunique()} composites; composites per source: "
          + ", ".join(f"{s} {n}" for s, n in table.drop_duplicates("reference")["source"].value_counts().sort_index().items()))
    section: dict = {"composites_per_source": {s: int(n) for s, n in
                                               table.drop_duplicates("reference")["source"].value_counts().items()},
                     "photos_per_source": {s: int(g["photo"].nunique()) for s, g in table.groupby("source")},
                     "models": {}}
    for name in models:
        if name not in {c.name for c in registry.list_models()} or not registry.status(name).ready:
            continue
        card = registry.card(name)
        model = registry.create(name)
        trained_on = None
        if card.shipped_weights:
            trained_on = weights.read_card(weights.ASSETS_DIR / card.shipped_weights[0]).get("data", {}).get(
                "sources", ["plasma", "mate", "opencv"])
        for with_mask in ((False, True) if (card.uses_mask or card.needs_mask) else (False,)):
            if card.needs_mask and not with_mask:
                continue
            label = f"{name} +mask" if with_mask else name
            scores, _, seconds, timed = score_rows(model, rows, card.full_reference, with_mask)
            per_source = by_source.figures_by_source(
                table["source"], lambda mask, s=scores, c=card: source_figures(s, table, mask, c.lower_better),
                table["split"])
            block = by_source.summary(per_source, trained_on=trained_on)
            block.update(trained_on_sources=trained_on, ms_per_image=round(1000 * seconds / max(timed, 1), 2),
                         evaluation="shipped model as it is (sources it trained on are not held out)" if trained_on
                         else "training-free: per source")
            section["models"][label] = block
            print(loso_line(label, block, ("srcc", "real_preferred"), width=28), flush=True)
    return section


def loso_lite(data: str, mode: str, minutes: float, limit: int | None, threads: int = 1, epochs: int = 30) -> dict:
    """Leave-one-source-out figures of a HarmonyIQA-lite model retrained per fold (``minutes`` each) with the
    shipped model's recipe (its card's config and training options), plus the all-source model on unseen."""
    import tempfile

    from backend import weights
    from backend.data import by_source
    from backend.iqa.harmonyiqa.lite.data import read_index
    from backend.iqa.harmonyiqa.lite.model import load_network
    from backend.iqa.harmonyiqa.lite.train import load_arrays, predict, train
    from backend.iqa.harmonyiqa.registration import FR_WEIGHTS, NR_WEIGHTS

    shipped = weights.read_card(weights.ASSETS_DIR / (FR_WEIGHTS if mode == "fr" else NR_WEIGHTS))
    config, options = shipped.get("config", {}), shipped.get("training", {})
    recipe = dict(widths=tuple(config.get("widths", (16, 32, 48, 64))), hidden=config.get("hidden", 96),
                  context=config.get("context", False), cnn_head=config.get("cnn_head", True),
                  rank_weight=options.get("rank_weight", 0.0), attention_weight=options.get("attention_weight", 0.0),
                  mask_dropout=options.get("mask_dropout", 0.5), learning_rate=options.get("lr", 2e-3),
                  batch=options.get("batch", 32))
    table = read_index(data)
    evaluation_table = by_source_table(data, limit)
    folds = list(by_source.leave_one_source_out(table["source"], table["split"]))
    per_fold, unseen = {}, None
    with tempfile.TemporaryDirectory() as folder:
        runs = [(fold.held_out, fold.train, fold.validation) for fold in folds]
        unseen_rows = by_source.is_unseen(table["source"], table["split"])
        runs.append(("all sources", (table["split"] == "train").to_numpy() & ~unseen_rows,
                     (table["split"] == "validation").to_numpy() & ~unseen_rows))
        for held_out, train_rows, validation_rows in runs:
            part = table[train_rows | validation_rows].copy()
            for column in ("image", "reference", "mask"):  # the fold's index lives elsewhere: absolute paths
                part[column] = [str(Path(path).resolve()) for path in part[column]]
            part["split"] = np.where(train_rows[train_rows | validation_rows], "train", "validation")
            index = Path(folder) / f"fold-{held_out.replace(' ', '-')}.csv"
            part.to_csv(index, index=False)
            out = Path(folder) / f"fold-{held_out.replace(' ', '-')}.safetensors"
            print(f"LOSO {mode} fold '{held_out}': training on {len(part)} images for {minutes} min", flush=True)
            train(index, out, mode == "fr", epochs=epochs, minutes=minutes, threads=threads, log=lambda line: None,
                  command=f"benchmarks/harmonyiqa.py --loso-minutes {minutes} (fold {held_out})", **recipe)
            network, _ = load_network(out)
            target = (evaluation_table[by_source.is_unseen(evaluation_table["source"], evaluation_table["split"])]
                      if held_out == "all sources" else evaluation_table[evaluation_table["source"] == held_out])
            arrays = load_arrays(target.reset_index(drop=True), network.config.input_size)
            figures = {}
            for with_mask in (False, True):
                scores = predict(network, arrays, with_mask)
                figures["+mask" if with_mask else "no mask"] = source_figures(
                    scores, arrays.table, np.ones(len(scores), bool))
            if held_out == "all sources":
                unseen = figures
            else:
                per_fold[held_out] = figures
            print(f"  {held_out}: " + ", ".join(f"{k} SRCC {v['srcc']:+.3f} real preferred {v['real_preferred']:.2f}"
                                                for k, v in figures.items()), flush=True)
    mean = {key: by_source.mean_over_folds({s: f[key] for s, f in per_fold.items()}) for key in ("no mask", "+mask")}
    return {"mode": mode, "minutes_per_fold": minutes, "recipe": {k: list(v) if isinstance(v, tuple) else v
                                                                  for k, v in recipe.items()},
            "per_source": per_fold, "mean_over_sources": mean, "unseen_all_source_model": unseen}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/harmonyiqa-lite", help="folder written by `harmonyiqa lite-data`")
    parser.add_argument("--split", default="test", choices=("train", "validation", "test"))
    parser.add_argument("--limit", type=int, help="use only the first N composites (all their versions)")
    parser.add_argument("--skip", nargs="*", default=[], help="registry models to leave out")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--by-source", action="store_true", help="also per-source and unseen-source figures")
    parser.add_argument("--by-source-limit", type=int, help="composites per source in the by-source section")
    parser.add_argument("--by-source-models", nargs="*", default=list(BY_SOURCE_MODELS))
    parser.add_argument("--loso-minutes", type=float, default=0.0,
                        help="retrain the lite model(s) per left-out source for this many minutes (0: no LOSO)")
    parser.add_argument("--loso-modes", nargs="*", default=["nr"], choices=("nr", "fr"))
    parser.add_argument("--loso-from", help="carry the leave-one-source-out block of an earlier results file "
                                            "(a separate --loso-minutes run) into this one")
    parser.add_argument("--skip-split", action="store_true", help="only the by-source / LOSO sections")
    parser.add_argument("--results-name", default="harmonyiqa", help="benchmarks/results/NAME.json")
    args = parser.parse_args(argv)

    import torch

    from backend import registry
    from backend.harmonization.metrics import RATIO_BUCKETS
    from backend.iqa.harmonyiqa.lite.train import bucket_correlations

    torch.set_num_threads(args.threads)
    extra = {}
    if args.by_source:
        extra["by_source"] = by_source_section(args.data, args.by_source_limit, tuple(args.by_source_models))
    if args.loso_minutes > 0:
        extra["leave_one_source_out"] = {mode: loso_lite(args.data, mode, args.loso_minutes, args.by_source_limit,
                                                         args.threads) for mode in args.loso_modes}
    elif args.loso_from:
        earlier = json.loads(Path(args.loso_from).read_text())
        extra["leave_one_source_out"] = {**earlier["leave_one_source_out"], "carried_from": args.loso_from,
                                         "measured_at": earlier.get("measured_at")}
    if args.skip_split:
        write_results(args.results_name, {"data": args.data, **extra})
        return 0
    table, rows = load_rows(args.data, args.split, args.limit)
    mos, ratio = table["mos"].to_numpy(float), table["foreground_ratio"].to_numpy(float)
    print(f"{len(rows)} images ({table['reference'].nunique()} composites) of the {args.split} split; "
          "buckets: " + ", ".join(f"{label} {int(((ratio >= low) & (ratio < high)).sum())}"
                                  for label, low, high in RATIO_BUCKETS))
    results, all_scores = [], {}
    for entry in entries(set(args.skip)):
        model = registry.create(entry["model"])
        card = registry.card(entry["model"])
        scores, refusals, seconds, timed = score_rows(model, rows, entry["sees_gt"], entry["sees_mask"])
        scored = np.isfinite(scores)
        all_scores[entry["label"]] = scores
        entry.update(lower_better=card.lower_better, refused=int((~scored).sum()), refusal_examples=refusals[:3],
                     ms_per_image_mean=1000 * seconds / max(timed, 1),
                     correlations=bucket_correlations(scores[scored], mos[scored], ratio[scored], card.lower_better)
                     if scored.sum() >= 3 else {})
        results.append(entry)
        print(table_line(entry))

    image, reference, mask = rows[0]
    speed = {}
    for name in LITE:
        model = registry.create(name)
        ref = reference if name.endswith("-fr") else None
        speed[name] = {"ms_per_image_best": 1000 * best_seconds(lambda m=model, r=ref: m.score(image, r), repeats=10),
                       "image_size": list(image.shape[:2]), "threads": args.threads}
        print(f"{name}: {speed[name]['ms_per_image_best']:.1f} ms per image (best of 10, {args.threads} thread; "
              f"target <= {TARGET_MS:.0f} ms)")

    comparison = {}
    for lite_label, group in (("harmonyiqa-lite-nr", "nr"), ("harmonyiqa-lite-fr", "fr"),
                              ("harmonyiqa-lite-fr +mask", "fr+mask")):
        lite = next(r for r in results if r["label"] == lite_label)
        others = [r for r in results if r["group"] == group and not r["label"].startswith("harmonyiqa-lite")
                  and not r.get("is_true_error")]
        others = [r for r in others if r["correlations"]]
        best = max(others, key=lambda r: r["correlations"]["all"]["srcc"], default=None)
        # a metric that refused images is compared with the lite model on the same images
        pairs = {r["label"]: same_images_srcc(all_scores[lite_label], all_scores[r["label"]], mos, r["lower_better"])
                 for r in others}
        comparison[lite_label] = {
            "group": group, "lite_srcc": lite["correlations"]["all"]["srcc"],
            "best_classical": best["label"] if best else None,
            "best_classical_srcc": best["correlations"]["all"]["srcc"] if best else None,
            "on_the_same_images": pairs,
            "beats_every_classical": all(pair["lite_srcc"] > pair["other_srcc"] for pair in pairs.values()),
            "excluded": [r["label"] for r in results if r["group"] == group and r.get("is_true_error")],
        }
        print(f"{lite_label} ({group}): SRCC {comparison[lite_label]['lite_srcc']:.3f} vs best classical "
              f"{comparison[lite_label]['best_classical']} {comparison[lite_label]['best_classical_srcc']}; "
              "on the same images: " + ", ".join(f"{name} {pair['lite_srcc']:.3f} vs {pair['other_srcc']:.3f} "
                                                  f"(n={pair['n']})" for name, pair in pairs.items()))

    write_results(args.results_name, {
        **extra,
        "data": args.data, "split": args.split, "images": len(rows), "composites": int(table["reference"].nunique()),
        "true_error": "iHarmony4 fMSE vs the ground truth (256x256), correlated through mos_from_fmse",
        "note": "ih-fmse/ih-fpsnr with the ground truth and the mask are the true error itself (excluded from the "
                "comparison); timings on a shared 2-core machine under load from other jobs",
        "rows": results, "speed": speed, "comparison": comparison,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
