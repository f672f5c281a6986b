"""CLI: ``python -m backend score`` and ``python -m backend models`` (issue "Foundation", item 8).

``score --model NAME [--model NAME ...] [--ref REF] [--mask MASK] [--csv FILE] INPUT...``: INPUT and REF
are files or folders (folders are expanded to their image files; references are matched by file name, or
by order). ``--prompt NAME`` names a saved PromptIQA prompt for the prompt models. Prints CSV
``image,model,score`` to stdout.
``models [--task TASK] [--json]``: lists models with task, direction and status.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.errors import InputError

LONG_RUN = 20  # (image, model) scores from which the command shows a progress bar on stderr
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def expand_inputs(paths: list[str], what: str) -> list[Path]:
    """Files stay as given; folders become their image files sorted by name."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise InputError(f"The {what} folder '{path}' holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))}).")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise InputError(f"The {what} '{path}' does not exist; check the path.")
    return files


def _score(args: argparse.Namespace) -> int:
    from backend.progress import fraction_bar
    from backend.scoring import score_images

    images = expand_inputs(args.inputs, "input")
    references = expand_inputs(args.ref, "reference") if args.ref else None
    with fraction_bar("scoring", enabled=len(images) * len(args.model) >= LONG_RUN) as progress:
        table = score_images(images, args.model, references=references, mask=args.mask, prompt=args.prompt,
                             progress=progress)
    out = table[["image", "model", "score"]]
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(args.csv, index=False)
    out.to_csv(sys.stdout, index=False, float_format="%.6g")
    return 0


def _models(args: argparse.Namespace) -> int:
    from backend import registry

    rows = []
    for card in registry.list_models(args.task):
        status = registry.status(card.name)
        rows.append({**card.as_dict(), "status": status.state, "status_detail": status.detail})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':<16} {'task':<10} {'direction':<15} {'status'}")
    for row in rows:
        direction = "lower is better" if row["lower_better"] else "higher is better"
        status = row["status"] + (f" ({row['status_detail']})" if row["status_detail"] else "")
        print(f"{row['name']:<16} {row['task']:<10} {direction:<15} {status}")
    return 0


def add_parsers(subparsers) -> None:
    score = subparsers.add_parser("score", help="score images with registry IQA models; prints CSV image,model,score")
    score.add_argument("--model", action="append", required=True, help="model name (repeat for several)")
    score.add_argument("--ref", action="append", help="reference file or folder (matched by file name or order)")
    score.add_argument("--mask", help="foreground mask for the mask-aware metrics (ih-fmse, ih-fpsnr)")
    score.add_argument("--prompt", help="name of a saved PromptIQA prompt, for the models that score under one")
    score.add_argument("--csv", help="also write the CSV to this file")
    score.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    score.set_defaults(func=_score)

    models = subparsers.add_parser("models", help="list registered models with task, direction and status")
    models.add_argument("--task", help="only models of this task (harmonize, iqa-fr, iqa-nr, comparator, segment)")
    models.add_argument("--json", action="store_true", help="print a JSON list of objects")
    models.set_defaults(func=_models)
