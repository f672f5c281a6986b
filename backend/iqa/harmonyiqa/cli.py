"""CLI of HarmonyIQA (paper 000): ``python -m backend harmonyiqa ACTION``.

    python -m backend harmonyiqa train (--data FILE.csv | --campaign NAME) [--mode nr|fr] [--base ID_OR_FOLDER]
        [--revision REV] [--out DIR] [--stage1-epochs N] [--stage2-epochs N] ...
        Two-stage training of the VLM (Sec. III-B); prints the last validation (SRCC/KRCC/PLCC overall and
        per subset) as JSON; the folder holds the adapters, projector, decoder, config.json and rows.csv.
        --campaign turns the ratings of a rating campaign into MOS by paper 000's protocol (BT.500
        screening, Eq. 1) with the subset of each method from --subset-map or the paper's NGIHA/GIHA list.
    python -m backend harmonyiqa score [--model NAME] [--ref R] [--mask M] IMAGE...
        CSV ``image,score`` with one registry model (default harmonyiqa-seam, issue #23), through
        :func:`backend.scoring.score_images`.

The HarmonyIQA-lite actions (``lite-data``, ``lite-train``, ``lite-eval``) are added by
:mod:`backend.iqa.harmonyiqa.lite.cli`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from backend.errors import InputError

DEFAULT_SCORE_MODEL = "harmonyiqa-seam"


def _command_line() -> str:
    """The command as typed (recorded in the trained model's config) when run as ``python -m backend``."""
    if Path(sys.argv[0]).name == "__main__.py":
        return "python -m backend " + shlex.join(sys.argv[1:])
    return ""


def resolve_base(base: str, revision: str | None) -> tuple[str, str | None]:
    """The base model and the revision to pin: local folders need none; other hub models must name one."""
    from backend.iqa.harmonyiqa.vlm.model import DEFAULT_BASE, DEFAULT_REVISION


    if Path(base).is_dir():
        return str(Path(base).resolve()), None
    if revision:
        return base, revision
    if base == DEFAULT_BASE:
        return base, DEFAULT_REVISION
    raise InputError(f"Give --revision (a commit hash of '{base}') so the trained adapters name the exact base "
                     "model they belong to.")


def _train(args: argparse.Namespace) -> int:
    from backend.iqa.harmonyiqa.vlm.data import read_rows, read_subset_map, rows_from_campaign
    from backend.iqa.harmonyiqa.vlm.folder import default_folder
    from backend.iqa.harmonyiqa.vlm.model import LoraSettings
    from backend.iqa.harmonyiqa.vlm.train import train_vlm

    base, revision = resolve_base(args.base, args.revision)
    subset_map = read_subset_map(args.subset_map)
    if args.campaign:
        screen = args.screening != "none"
        rows, source = rows_from_campaign(args.campaign, subset_map=subset_map,
                                          rule=args.screening if screen else "fraction", screen=screen)
    else:
        rows, source = read_rows(args.data, subset_map), {"csv": str(Path(args.data).resolve())}
    lora = LoraSettings(args.lora_rank, args.lora_alpha, args.lora_dropout, not args.no_vision_lora, not args.no_llm_lora)
    result = train_vlm(rows, args.out or default_folder(args.mode), mode=args.mode, base=base, revision=revision,
                       stage1_epochs=args.stage1_epochs, stage2_epochs=args.stage2_epochs, learning_rate=args.lr,
                       stage2_learning_rate=args.stage2_lr, batch_size=args.batch_size, lora=lora,
                       stage2_tune=args.stage2_tune, val_fraction=args.val_fraction, seed=args.seed,
                       device=args.device, threads=args.threads, trust_remote_code=args.trust_remote_code,
                       data_source=source, command=_command_line())
    print(json.dumps({"out": str(result.out_dir), "validation": result.record["final_validation"]}, indent=1))
    return 0


def _score(args: argparse.Namespace) -> int:
    from backend.iqa.cli import expand_inputs
    from backend.scoring import score_images

    files = expand_inputs(args.images, "image")
    references = expand_inputs(args.ref, "reference") if args.ref else None
    table = score_images(files, [args.model], references=references, mask=args.mask)
    print("image,score")
    for path, score in zip(files, table["score"], strict=True):
        print(f"{path},{score:.6g}")
    return 0


def add_parsers(subparsers) -> None:
    from backend.iqa.harmonyiqa.lite.cli import add_lite_subcommands
    from backend.iqa.harmonyiqa.vlm.model import DEFAULT_BASE

    group = subparsers.add_parser("harmonyiqa", help="HarmonyIQA (paper 000): train the VLM scorer, score images")
    actions = group.add_subparsers(dest="harmonyiqa_action", metavar="ACTION")
    actions.required = True

    train = actions.add_parser("train", help="two-stage training of the HarmonyIQA VLM from a CSV or a rating campaign")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="CSV with columns image, mos (optional reference, subset, method, group, split)")
    source.add_argument("--campaign", help="name of a rating campaign of the store (MOS by BT.500 screening + Eq. 1)")
    train.add_argument("--mode", choices=("nr", "fr"), default="nr", help="nr: harmonized image only; fr: with reference")
    train.add_argument("--base", default=DEFAULT_BASE, help="base VLM: hub id or local folder (default %(default)s)")
    train.add_argument("--revision", help="hub commit of the base (pinned default for the default base)")
    train.add_argument("--out", help="output folder (default <data dir>/harmonyiqa/vlm-MODE, where the registry looks)")
    train.add_argument("--stage1-epochs", type=int, default=2, help="epochs of cross-entropy on the answer sentence")
    train.add_argument("--stage2-epochs", type=int, default=2, help="epochs of MSE on the score decoder")
    train.add_argument("--lr", type=float, default=2e-4, help="stage-1 learning rate (adapters, projector)")
    train.add_argument("--stage2-lr", type=float, default=1e-3, help="stage-2 learning rate")
    train.add_argument("--stage2-tune", choices=("all", "decoder"), default="all",
                       help="stage 2 trains the decoder with the adapters and projector (all) or the decoder alone")
    train.add_argument("--batch-size", type=int, default=4, help="examples per optimiser step (gradient accumulation)")
    train.add_argument("--lora-rank", type=int, default=8)
    train.add_argument("--lora-alpha", type=int, default=16)
    train.add_argument("--lora-dropout", type=float, default=0.05)
    train.add_argument("--no-vision-lora", action="store_true", help="no LoRA on the vision encoder")
    train.add_argument("--no-llm-lora", action="store_true", help="no LoRA on the LLM")
    train.add_argument("--val-fraction", type=float, default=0.2, help="validation share (4:1 split per subset)")
    train.add_argument("--subset-map", help="JSON object or CSV method,subset (default: the paper's NGIHA/GIHA methods)")
    train.add_argument("--screening", choices=("fraction", "bt500", "none"), default="fraction",
                       help="subject screening for --campaign: the paper's 5 %% rule, the BT.500 P/Q rule, or none")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", help="torch device (default: CUDA when present, else CPU)")
    train.add_argument("--threads", type=int, help="torch CPU threads")
    train.add_argument("--trust-remote-code", action="store_true", help="allow a base model that runs its own code")
    train.set_defaults(func=_train)

    score = actions.add_parser("score", help="score images with a HarmonyIQA (or any IQA) model; prints CSV image,score")
    score.add_argument("--model", default=DEFAULT_SCORE_MODEL, help="registry model name (default %(default)s)")
    score.add_argument("--ref", action="append", help="reference file or folder (FR models; matched by name or order)")
    score.add_argument("--mask", help="foreground mask, for the models that use one")
    score.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    score.set_defaults(func=_score)


    add_lite_subcommands(actions)
