"""CLI of Compare2Score (paper 001): scoring, training the offline comparator, anchors, export, NR fits.

    python -m backend compare2score --comparator NAME [--anchors DIR_OR_CSV] IMAGE... [--json]
        CSV ``image,score`` (default) or, with --json, per image the level probabilities against each
        anchor, b, the matrix P (Eq. 5), the MAP scale (Eq. 6) and the score.
    python -m backend compare2score-train --set CSV [--out DIR] [--steps N] ...
    python -m backend compare2score-anchors --set CSV --out DIR [--alpha 5] [--beta 1] [--split train]
    python -m backend compare2score-export --set CSV --out JSON [--pairs N]
    python -m backend compare2score-fit-nr --scorer NAME --set CSV [--split train] [--limit N]

The scoring form is exactly the one above; the other actions are separate command names so that an
IMAGE argument can never be mistaken for a sub-action.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys


def _score(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from backend.iqa.cli import expand_inputs
    from backend.iqa.compare2score.service import score_files


    files = expand_inputs(args.images, "image")
    bar = tqdm(total=len(files), desc="scoring", unit="img", file=sys.stderr, disable=len(files) < 2 or args.quiet)
    results = score_files(files, args.comparator, anchors=args.anchors, matrix=args.matrix,
                          normalisation=args.normalisation, both_orders=args.both_orders,
                          comparator_options={"trust_remote_code": True} if args.trust_remote_code else None,
                          progress=lambda done, total: bar.update(done - bar.n))
    bar.close()
    if args.json:
        payload = [{"image": str(path), "score": result.score, **result.details} for path, result in zip(files, results)]
        print(json.dumps(payload, indent=1))
    else:
        print("image,score")
        for path, result in zip(files, results):
            print(f"{path},{result.score:.6g}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from backend.iqa.compare2score.siamese import DEFAULT_WEIGHTS
    from backend.iqa.compare2score.train import train_siamese

    command = "python -m backend " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if args.record_command else ""
    card = train_siamese(args.set, args.out or DEFAULT_WEIGHTS, steps=args.steps, batch_pairs=args.batch_pairs,
                         learning_rate=args.lr, weight_decay=args.weight_decay, hidden=args.hidden,
                         dropout=args.dropout, seed=args.seed, max_side=args.max_side,
                         threads=args.threads, command=command)
    print(json.dumps(card.get("metrics", {}), indent=1))
    return 0


def _anchors(args: argparse.Namespace) -> int:
    from backend.data.scored_set import read_scored_set
    from backend.errors import InputError
    from backend.iqa.compare2score.anchors import select_anchors, write_anchor_set

    table = read_scored_set(args.set)
    if args.split:
        if "split" not in table.columns:
            raise InputError(f"The scored set has no 'split' column, so --split {args.split} cannot be applied.")
        table = table[table["split"] == args.split].reset_index(drop=True)
    chosen = select_anchors(table, args.alpha, args.beta, args.intervals)
    provenance = {"scored_set": str(args.set), "split": args.split, "alpha": args.alpha, "beta": args.beta,
                  "intervals": args.intervals, "rule": "paper 001 Eq. 4: least MOS variance per MOS interval",
                  "command": "python -m backend " + " ".join(shlex.quote(a) for a in sys.argv[1:])}
    out = write_anchor_set(chosen, args.out, provenance)
    print(chosen[["path", "mos", "mos_std", "interval"]].to_csv(index=False), end="")
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from backend.iqa.compare2score.export import export_training_pairs

    summary = export_training_pairs(args.set, args.out, pairs=args.pairs, seed=args.seed, split=args.split,
                                    image_root=args.image_root)
    print(json.dumps(summary, indent=1))
    return 0


def _fit_nr(args: argparse.Namespace) -> int:
    from backend.iqa.compare2score.thurstone_nr import fit_scorer

    fit = fit_scorer(args.scorer, args.set, split=args.split, limit=args.limit, out=args.out)
    print(json.dumps(fit, indent=1))
    return 0


def add_parsers(subparsers) -> None:
    score = subparsers.add_parser("compare2score", help="Compare2Score: compare images with anchors, MAP score (CSV image,score)")
    score.add_argument("--comparator", default="c2s-siamese",
                       help="comparator name (python -m backend models --task comparator); nr-thurstone:MODEL wraps an NR model")
    score.add_argument("--anchors", help="anchor folder (with anchors.csv) or CSV path, mos, mos_std; default assets/anchors/default")
    score.add_argument("--matrix", choices=("probability", "count"), default="probability",
                       help="soft probabilities (Eq. 3) or the count-matrix baseline of Table 3")
    score.add_argument("--normalisation", choices=("mos", "minmax"), default="mos",
                       help="score on the anchors' MOS scale (default) or the public code's saturating 0-100 min-max")
    score.add_argument("--both-orders", action="store_true", help="also compare with the image first and average")
    score.add_argument("--trust-remote-code", action="store_true",
                       help="allow a hub comparator to run its own code (q-future-compare2score); review it first")
    score.add_argument("--json", action="store_true", help="print every step per image as JSON")
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    score.set_defaults(func=_score)

    train = subparsers.add_parser("compare2score-train", help="train the offline siamese comparator on a scored set")
    train.add_argument("--set", required=True, help="scored-set CSV (path, mos, mos_std[, split, photo])")
    train.add_argument("--out", help="output folder (default assets/compare2score/siamese)")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--batch-pairs", type=int, default=256)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--weight-decay", type=float, default=1e-2)
    train.add_argument("--hidden", type=int, default=32, help="width of the MLP layers")
    train.add_argument("--dropout", type=float, default=0.3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--max-side", type=int, default=384)
    train.add_argument("--threads", type=int, help="torch CPU threads")
    train.add_argument("--no-record-command", dest="record_command", action="store_false")
    train.set_defaults(func=_train)

    anchors = subparsers.add_parser("compare2score-anchors", help="select anchors from a scored set by Eq. 4")
    anchors.add_argument("--set", required=True, help="scored-set CSV (path, mos, mos_std)")
    anchors.add_argument("--out", required=True, help="folder to write the anchor set to")
    anchors.add_argument("--alpha", type=int, default=5, help="number of MOS intervals")
    anchors.add_argument("--beta", type=int, default=1, help="anchors per interval")
    anchors.add_argument("--intervals", choices=("equal-width", "quantile"), default="equal-width")
    anchors.add_argument("--split", help="only rows of this split (e.g. train)")
    anchors.set_defaults(func=_anchors)

    export = subparsers.add_parser("compare2score-export", help="export Eq. 2 instruction-response pairs (training JSON)")
    export.add_argument("--set", required=True, help="scored-set CSV (path, mos, mos_std)")
    export.add_argument("--out", required=True, help="output JSON file")
    export.add_argument("--pairs", type=int, default=1000, help="number of pairs to sample")
    export.add_argument("--seed", type=int, default=0)
    export.add_argument("--split", help="only rows of this split")
    export.add_argument("--image-root", help="write image paths relative to this folder")
    export.set_defaults(func=_export)

    fit = subparsers.add_parser("compare2score-fit-nr", help="fit the Thurstone spread of an NR model on a scored set")
    fit.add_argument("--scorer", required=True, help="registry iqa-nr model name")
    fit.add_argument("--set", required=True, help="scored-set CSV (path, mos, mos_std)")
    fit.add_argument("--split", default="train", help="rows of this split (if the set has a split column)")
    fit.add_argument("--limit", type=int, default=400, help="at most this many rows (deterministic subsample)")
    fit.add_argument("--out", help="fits JSON to update (default assets/compare2score/nr_thurstone.json)")
    fit.set_defaults(func=_fit_nr)
