"""Copy a benchmark's by-source figures (issue #23) into a model's JSON card.

    python scripts/record_by_source.py RESULTS.json CARD.json [--path by_source.models.LABEL ...] [--key by_source]

``RESULTS.json`` is a file of ``benchmarks/results/`` written with ``--by-source`` (or a leave-one-source-out
section); each ``--path`` is a dotted path inside it (``by_source.models.harmonyiqa-lite-nr +mask``: dots split
the keys, so a label with a dot cannot be named). The blocks go into the card under ``--key`` as
``{"from": RESULTS, "measured_at": ..., PATH: block, ...}``; the rest of the card is kept. Cards are the JSON files
beside shipped weights (``backend.weights``) or the stand-alone cards of training-free models.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("card", type=Path)
    parser.add_argument("--path", action="append", required=True, help="dotted path of a block in the results")
    parser.add_argument("--key", default="by_source", help="key of the card that receives the blocks")
    args = parser.parse_args(argv)
    payload = json.loads(args.results.read_text())
    card = json.loads(args.card.read_text()) if args.card.is_file() else {}
    try:
        blocks = {path: pick(payload, path) for path in args.path}
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    results_name = args.results.as_posix().split("benchmarks/results/")[-1]
    card[args.key] = {"from": f"benchmarks/results/{results_name}", "measured_at": payload.get("measured_at"),
                      **blocks}
    args.card.write_text(json.dumps(card, indent=2, default=float) + "\n")
    print(f"recorded {', '.join(args.path)} in {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
