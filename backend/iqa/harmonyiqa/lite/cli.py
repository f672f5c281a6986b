"""CLI of HarmonyIQA-lite: sub-commands of the ``harmonyiqa`` group (defined in ``cli.py``).

    python -m backend harmonyiqa lite-data [--out data/harmonyiqa-lite] [--train 700] [--validation 80] [--test 100]
    python -m backend harmonyiqa lite-train --mode nr|fr [--data data/harmonyiqa-lite] [--out FILE] [--minutes 15] ...
    python -m backend harmonyiqa lite-eval [--model harmonyiqa-lite-nr | --weights FILE] [--data DIR] [--split test]

``lite-data`` builds the synthetic scored set (``lite.data``), ``lite-train`` trains one model and writes
its safetensors + JSON card (default: the shipped file in assets/harmonyiqa/), ``lite-eval`` prints
SRCC/KRCC/PLCC against the true error (with and without the mask) as JSON. Heavy imports happen in the
handlers.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

DEFAULT_DATA = "data/harmonyiqa-lite"
DEFAULT_SOURCES = "plasma,mate,opencv"  # backend.data.photos.DEFAULT_SOURCES (not imported: this module stays light)


def _command_line() -> str:
    return "python -m backend " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _data(args: argparse.Namespace) -> int:
    import torch

    from backend.iqa.harmonyiqa.lite.data import build_dataset


    torch.set_num_threads(args.threads)
    counts = {"train": args.train, "validation": args.validation, "test": args.test, "unseen": args.unseen}
    index = build_dataset(args.out, counts, seed=args.seed, side=args.side, show_progress=not args.quiet,
                          sources=tuple(s for s in args.sources.split(",") if s),
                          balance_sources=args.balance_sources)
    print(f"wrote {index}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from backend.iqa.harmonyiqa.lite.train import train
    from backend.iqa.harmonyiqa.registration import FR_WEIGHTS, NR_WEIGHTS
    from backend.weights import ASSETS_DIR

    full_reference = args.mode == "fr"
    out = args.out or str(ASSETS_DIR / (FR_WEIGHTS if full_reference else NR_WEIGHTS))
    card = train(args.data, out, full_reference, epochs=args.epochs, minutes=args.minutes, batch=args.batch,
                 learning_rate=args.lr, weight_decay=args.weight_decay, mask_dropout=args.mask_dropout,
                 seed=args.seed, threads=args.threads, rank_weight=args.rank_weight, widths=tuple(args.widths), hidden=args.hidden,
                 context=args.context, cnn_head=not args.no_cnn_head, attention_weight=args.attention_weight,
                 command=_command_line(), log=lambda line: print(line, file=sys.stderr))
    print(json.dumps(card["validation"], indent=1))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from backend.iqa.harmonyiqa.lite.train import evaluate
    from backend.iqa.harmonyiqa.registration import CARDS
    from backend.weights import ASSETS_DIR

    weights = args.weights or str(ASSETS_DIR / CARDS[args.model][1])
    report = evaluate(weights, args.data, args.split, args.threads)
    if args.record:
        record_in_card(weights, report, CARDS[args.model][0], _command_line())
    print(json.dumps(report, indent=1))
    return 0


def record_in_card(weights: str, report: dict, card, command: str) -> None:
    """Add the held-out correlations and the speed (best of 10 on a 256 px photo) to the weights' JSON card."""
    import numpy as np

    from backend import weights as weights_files
    from backend.data.photos import skimage_photos
    from backend.iqa.harmonyiqa.lite.model import LiteScorer
    from backend.timing import best_seconds


    scorer = LiteScorer(card, weights, threads=report.get("threads", 1))
    image = skimage_photos(max_side=256)["chelsea"]
    reference = image if card.full_reference else None
    mask = np.zeros(image.shape[:2], bool)
    mask[40:120, 60:160] = True
    speed = {"no_mask": 1000 * best_seconds(lambda: scorer.score(image, reference), repeats=10),
             "with_mask": 1000 * best_seconds(lambda: scorer.score(image, reference, mask), repeats=10),
             "image": f"{image.shape[1]}x{image.shape[0]}", "threads": report.get("threads", 1),
             "note": "best of 10 on a shared 2-core CPU, including resizing and colour conversion"}
    payload = weights_files.read_card(weights)
    payload[report["split"]] = {**report, "command": command}
    payload["ms_per_image"] = speed
    weights_files.write_card(weights, payload)


def add_lite_subcommands(subparsers) -> None:
    """Add ``lite-data``, ``lite-train`` and ``lite-eval`` to the ``harmonyiqa`` group's sub-parser action."""
    data = subparsers.add_parser("lite-data", help="build the synthetic scored set of HarmonyIQA-lite",
                                 description="Composites, partly harmonized versions, harmonizer outputs and "
                                 "ground truths from the Debian photos, scored by their iHarmony4 fMSE.")
    data.add_argument("--out", default=DEFAULT_DATA, help=f"output folder (default {DEFAULT_DATA})")
    data.add_argument("--train", type=int, default=700, help="composites from training photos")
    data.add_argument("--validation", type=int, default=80, help="composites from validation photos")
    data.add_argument("--test", type=int, default=100, help="composites from test photos")
    data.add_argument("--unseen", type=int, default=0,
                      help="composites of the unseen evaluation source gcompris-unseen (its own split; never trained on)")
    data.add_argument("--sources", default=DEFAULT_SOURCES,
                      help=f"photo sources, comma-separated (default: the shipped models' data, {DEFAULT_SOURCES}; "
                           "also lomiri, gcompris, lxqt)")
    data.add_argument("--balance-sources", action="store_true",
                      help="draw a source uniformly for each composite, then one of its photos")
    data.add_argument("--side", type=int, default=256, help="long side of the photos before cropping")
    data.add_argument("--seed", type=int, default=2026)
    data.add_argument("--threads", type=int, default=1, help="torch threads (srh-tiny outputs)")
    data.add_argument("--quiet", action="store_true", help="no progress bar")
    data.set_defaults(func=_data)

    train = subparsers.add_parser("lite-train", help="train HarmonyIQA-lite (NR or FR) on CPU",
                                  description="Train one HarmonyIQA-lite model; the validation split picks the epoch.")
    train.add_argument("--mode", choices=("nr", "fr"), required=True, help="no-reference or full-reference model")
    train.add_argument("--data", default=DEFAULT_DATA, help="folder (or index.csv) written by lite-data")
    train.add_argument("--out", default=None, help="weights file (default: the shipped file in assets/harmonyiqa/)")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--minutes", type=float, default=15.0, help="stop after the epoch that exceeds this budget")
    train.add_argument("--batch", type=int, default=32)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--weight-decay", type=float, default=1e-4)
    train.add_argument("--mask-dropout", type=float, default=0.5, help="probability of training without the mask")
    train.add_argument("--rank-weight", type=float, default=0.0,
                       help="weight of the within-composite ranking loss (0: MSE only, random batches)")
    train.add_argument("--widths", type=int, nargs="+", default=[16, 32, 48, 64], help="channels of the 4 stages")
    train.add_argument("--hidden", type=int, default=96, help="width of the MLP head")
    train.add_argument("--context", action="store_true",
                       help="finer attention map and explicit foreground-vs-surroundings statistics in the head")
    train.add_argument("--no-cnn-head", action="store_true",
                       help="the head sees only the explicit colour statistics, not the pooled CNN features")
    train.add_argument("--attention-weight", type=float, default=0.0,
                       help="weight of the loss that supervises the attention map with the true mask (0: none)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    train.set_defaults(func=_train)

    evaluation = subparsers.add_parser("lite-eval", help="correlations of HarmonyIQA-lite with the true error",
                                       description="SRCC/KRCC/PLCC against the true fMSE on one split, overall "
                                       "and per foreground-ratio bucket, with and without the mask (JSON).")
    evaluation.add_argument("--model", choices=("harmonyiqa-lite-nr", "harmonyiqa-lite-fr"), default="harmonyiqa-lite-nr")
    evaluation.add_argument("--weights", default=None, help="weights file instead of the shipped one")
    evaluation.add_argument("--data", default=DEFAULT_DATA, help="folder (or index.csv) written by lite-data")
    evaluation.add_argument("--split", choices=("train", "validation", "test"), default="test")
    evaluation.add_argument("--threads", type=int, default=1)
    evaluation.add_argument("--record", action="store_true",
                            help="also write the correlations and the speed into the weights' JSON card")
    evaluation.set_defaults(func=_eval)
