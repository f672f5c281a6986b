"""Copy a benchmark's by-source figures (issue #23) into a model's JSON card.

    python scripts/record_by_source.py RESULTS.json CARD.json [--path by_source.models.LABEL ...] [--key by_source]

``RESULTS.json`` is a file of ``benchmarks/results/`` written with ``--by-source`` (or a leave-one-source-out
section); each ``--path`` is a dotted path inside it (``by_source.models.harmonyiqa-lite-nr +mask``: dots split
the keys, so a label with a dot cannot be named). The blocks go into the card under ``--key`` as
``{"from": RESULTS, "measured_at": ..., PATH: block, ...}``; the rest of the card is kept, and so is its indentation.
Cards are the JSON files beside shipped weights (``backend.weights``) or the stand-alone cards of training-free
models.

``--photos`` also records ``photos``: the distinct photos per source the figures were measured on, their number and
the number of sources -- read from ``--photos-path`` (a ``{source: count}`` dict of the results) or else from the
``photos`` figure of the first block's per-source and unseen entries -- and ``photos_installed``: the photos of every
source of ``backend.data.photos`` installed on the recording machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def pick(payload: dict, path: str):
    node = payload
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"'{path}' is not in the results (no '{key}')")
        node = node[key]
    return node


def photo_counts(blocks: dict, explicit: dict | None = None) -> dict:
    """``{"per_source": {source: photos}, "sources": n, "photos": total}`` of the recorded figures (module docstring);
    the unseen source counts as a source of its own."""
    per_source = {}
    if explicit is not None:
        per_source = {str(k): int(v) for k, v in explicit.items()}
    else:
        for block in blocks.values():
            entries = {**block.get("per_source", {}), **({"unseen": block["unseen"]} if "unseen" in block else {})}
            per_source = {s: int(f["photos"]) for s, f in entries.items() if isinstance(f, dict) and "photos" in f}
            if per_source:
                break
    return {"per_source": per_source, "sources": len(per_source), "photos": sum(per_source.values())}


def installed_photos() -> dict:
    """Photos per installed source of ``backend.data.photos`` (training sources and the unseen source)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from backend.data.photos import TRAINING_SOURCES, UNSEEN_SOURCE, list_photos
    from backend.errors import InputError

    counts = {}
    for source in (*TRAINING_SOURCES, UNSEEN_SOURCE):
        try:
            counts[source] = len(list_photos(sources=(source,)))
        except InputError:
            continue
    training = sum(n for s, n in counts.items() if s != UNSEEN_SOURCE)
    return {"per_source": counts, "training_sources": len([s for s in counts if s != UNSEEN_SOURCE]),
            "training_photos": training, "unseen_photos": counts.get(UNSEEN_SOURCE, 0)}


def indent_of(text: str) -> int:
    """The indentation of a JSON file's first nested line (2 when there is none)."""
    for line in text.splitlines()[1:]:
        if line.strip():
            return max(1, len(line) - len(line.lstrip(" ")))
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("card", type=Path)
    parser.add_argument("--path", action="append", required=True, help="dotted path of a block in the results")
    parser.add_argument("--key", default="by_source", help="key of the card that receives the blocks")
    parser.add_argument("--photos", action="store_true", help="also record the photos and sources measured on")
    parser.add_argument("--photos-path", help="dotted path of a {source: photos} dict in the results")
    args = parser.parse_args(argv)
    payload = json.loads(args.results.read_text())
    text = args.card.read_text() if args.card.is_file() else ""
    card = json.loads(text) if text else {}
    try:
        blocks = {path: pick(payload, path) for path in args.path}
        explicit = pick(payload, args.photos_path) if args.photos_path else None
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    results_name = args.results.as_posix().split("benchmarks/results/")[-1]
    card[args.key] = {"from": f"benchmarks/results/{results_name}", "measured_at": payload.get("measured_at"),
                      **blocks}
    if args.photos:
        card[args.key]["photos"] = photo_counts(blocks, explicit)
        card[args.key]["photos_installed"] = installed_photos()
    args.card.write_text(json.dumps(card, indent=indent_of(text) if text else 2, default=float) + "\n")
    print(f"recorded {', '.join(args.path)} in {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
