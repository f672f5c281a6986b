"""CLI: ``python -m backend harmonize`` and ``python -m backend harmonization {train,eval}`` (paper 002).

- ``harmonize --method NAME --composite C --mask M --out O [--similarity-out S]``: writes the harmonized image.
- ``harmonization eval --method NAME [--method ...] --data DIR [--limit N] [--json]``: MSE, fMSE, PSNR, fPSNR
  overall and per foreground-ratio bucket on DIR (``composite/``, ``mask/``, ``real/``), iHarmony4 protocol.
- ``harmonization train --data DIR [--val DIR] [--config tiny|full] --out FILE.safetensors ...``: see
  ``backend.harmonization.train``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path


def _harmonize(args: argparse.Namespace) -> int:
    from backend.harmonization.service import harmonize_many
    from backend.images import save_png

    _, _, results = harmonize_many(args.composite, args.mask, [args.method])
    result = results[0].result
    save_png(result.image, args.out)
    if args.similarity_out and "similarity_map" in result.details:
        import numpy as np

        save_png((result.details["similarity_map"] * 255).round().astype(np.uint8)[..., None].repeat(3, axis=2),
                 args.similarity_out)
    print(f"wrote {args.out} ({args.method}, {results[0].seconds:.2f} s)")
    return 0


def format_table(method: str, table: dict) -> str:
    lines = [f"{method}", f"  {'bucket':<9} {'count':>5} {'MSE':>9} {'fMSE':>9} {'PSNR':>7} {'fPSNR':>7}"]
    for bucket, row in table.items():
        lines.append(f"  {bucket:<9} {int(row['count']):>5} {row['mse']:>9.2f} {row['fmse']:>9.2f} "
                     f"{row['psnr']:>7.2f} {row['fpsnr']:>7.2f}")
    return "\n".join(lines)


def _evaluate(args: argparse.Namespace) -> int:
    from backend import registry
    from backend.harmonization.evaluate import evaluate_harmonizer
    from backend.harmonization.service import check_methods

    reports = []
    for name in check_methods(args.method):
        report = evaluate_harmonizer(registry.create(name), args.data, args.limit, progress=not args.json)
        if not args.per_image:
            report.pop("per_image")
        reports.append(report)
        if not args.json:
            print(format_table(name, report["table"]))
            print(f"  {report['seconds_per_image'] * 1000:.1f} ms per image")
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=2))
    return 0


def _train(args: argparse.Namespace) -> int:
    from backend.harmonization.train import train

    command = "python -m backend " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    train(Path(args.data), Path(args.out), args.config, args.work_size, args.loss_size, args.batch, args.steps,
          args.minutes, args.lr, args.seed, args.segmenter, Path(args.val) if args.val else None, args.threads,
          args.limit, command, Path(args.init) if args.init else None)
    return 0


def add_parsers(subparsers) -> None:
    harmonize = subparsers.add_parser("harmonize", help="harmonize one composite with a registered method")
    harmonize.add_argument("--method", default="srh-tiny", help="harmonizer name (python -m backend models --task harmonize)")
    harmonize.add_argument("--composite", required=True, help="composite image file")
    harmonize.add_argument("--mask", required=True, help="foreground mask image (white = foreground)")
    harmonize.add_argument("--out", required=True, help="output PNG")
    harmonize.add_argument("--similarity-out", help="also write the instance similarity map as a PNG")
    harmonize.set_defaults(func=_harmonize)

    group = subparsers.add_parser("harmonization", help="evaluate or train harmonizers (paper 002)")
    commands = group.add_subparsers(dest="harmonization_command", metavar="SUBCOMMAND")
    commands.required = True
    evaluate = commands.add_parser("eval", help="iHarmony4 metrics of a method on DIR (composite/, mask/, real/)")
    evaluate.add_argument("--method", action="append", required=True, help="harmonizer name (repeat for several)")
    evaluate.add_argument("--data", required=True, help="folder with composite/, mask/, real/ of matching names")
    evaluate.add_argument("--limit", type=int, help="only the first N images")
    evaluate.add_argument("--json", action="store_true", help="print the tables as JSON")
    evaluate.add_argument("--per-image", action="store_true", help="include per-image errors in the JSON")
    evaluate.set_defaults(func=_evaluate)

    train = commands.add_parser("train", help="train the semantic-routed network on DIR (composite/, mask/, real/)")
    train.add_argument("--data", required=True, help="training folder (composite/, mask/, real/)")
    train.add_argument("--val", help="validation folder; its metrics go into the JSON card")
    train.add_argument("--config", default="tiny", help="network size: tiny (CPU) or full (paper size, GPU)")
    train.add_argument("--out", default="assets/harmonization/srh-tiny.safetensors", help="weights file to write")
    train.add_argument("--work-size", type=int, default=64, help="square size the network sees (multiple of 4)")
    train.add_argument("--loss-size", type=int, default=128, help="square size the loss is measured at")
    train.add_argument("--batch", type=int, default=8)
    train.add_argument("--steps", type=int, default=3000)
    train.add_argument("--minutes", type=float, default=45.0, help="stop after this many minutes")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--segmenter", default="regions", help="segmenter for the similarity maps")
    train.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    train.add_argument("--limit", type=int, help="only the first N training images")
    train.add_argument("--init", help="start from these weights (continue training; same --config)")
    train.set_defaults(func=_train)
