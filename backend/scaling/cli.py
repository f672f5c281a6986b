"""CLI: ``python -m backend scale`` and ``python -m backend mos``.

``scale --method thurstone|bt --votes FILE.csv [--bootstrap N] [--seed S] [--prior P] [--json]``: the CSV
has columns ``annotator,left,right,choice`` (choice = left / right / tie). Prints CSV
``item,score,ci_low,ci_high,se,n_comparisons`` (Thurstone MAP of paper 001 Eq. 6, or Bradley–Terry; the
interval is the Laplace interval, or the annotator-bootstrap percentile interval with ``--bootstrap``).

``mos --ratings FILE.csv [--rule fraction|bt500] [--no-screen] [--json]``: the CSV has columns
``annotator,item,score``. Prints CSV ``item,mos,ci_low,ci_high,n_ratings`` (paper 000 Eq. 1 after
BT.500 screening) and lists rejected subjects on stderr (inside the JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from backend.errors import InputError


def read_csv(path: str, what: str, columns: tuple[str, ...]):
    """Read a CSV as strings (scores are converted later) and check its header."""
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise InputError(f"The {what} file '{file}' does not exist; check the path.")
    try:
        table = pd.read_csv(file, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"The {what} file '{file}' is not a readable CSV ({error}).") from error
    table.columns = [str(column).strip().lower() for column in table.columns]
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise InputError(
            f"The {what} file '{file}' lacks column(s) {', '.join(missing)}; "
            f"its header must contain {','.join(columns)}.")
    return table


def _json_ready(records: list[dict]) -> list[dict]:
    """NaN becomes null so that the output is valid JSON."""
    return [{key: (None if isinstance(value, float) and math.isnan(value) else value)
             for key, value in record.items()} for record in records]


def _progress_bar(total: int):
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a convenience only
        return None, lambda: None
    bar = tqdm(total=total, desc="bootstrap", unit="round", file=sys.stderr, leave=False)
    return (lambda done, _total: bar.update(done - bar.n)), bar.close


def _scale(args: argparse.Namespace) -> int:
    from backend.scaling.pairwise import VOTE_COLUMNS, scale_votes

    if args.bootstrap < 0:
        raise InputError("--bootstrap must be 0 (no bootstrap) or a positive number of rounds.")
    votes = read_csv(args.votes, "votes", VOTE_COLUMNS)
    progress, close = _progress_bar(args.bootstrap) if args.bootstrap else (None, lambda: None)
    try:
        table = scale_votes(votes, args.method, args.bootstrap, args.seed, args.prior, progress=progress)
    finally:
        close()
    if args.json:
        print(json.dumps(_json_ready(table.to_dict(orient="records")), indent=2))
    else:
        table.to_csv(sys.stdout, index=False, float_format="%.6g")
    return 0


def _mos(args: argparse.Namespace) -> int:
    from backend.scaling.mos import RATING_COLUMNS, compute_mos

    ratings = read_csv(args.ratings, "ratings", RATING_COLUMNS)
    result = compute_mos(ratings, screen=not args.no_screen, rule=args.rule)
    if args.json:
        print(json.dumps({
            "items": _json_ready(result.table.to_dict(orient="records")),
            "rejected_subjects": result.rejected,
            "outlier_ratings_removed": result.n_outlier_ratings,
            "ratings": result.n_ratings,
        }, indent=2))
        return 0
    result.table.to_csv(sys.stdout, index=False, float_format="%.6g")
    for subject, reason in result.rejected.items():
        print(f"rejected subject {subject}: {reason}", file=sys.stderr)
    print(f"{len(result.rejected)} subject(s) rejected, {result.n_outlier_ratings} outlier rating(s) removed "
          f"of {result.n_ratings}", file=sys.stderr)
    return 0


def add_parsers(subparsers) -> None:
    scale = subparsers.add_parser(
        "scale", help="scores from paired-comparison votes (Thurstone MAP or Bradley-Terry)",
        description="Scale paired-comparison votes; prints item,score,ci_low,ci_high,se,n_comparisons.")
    scale.add_argument("--method", choices=("thurstone", "bt"), default="thurstone")
    scale.add_argument("--votes", required=True, help="CSV with columns annotator,left,right,choice")
    scale.add_argument("--bootstrap", type=int, default=0, metavar="N",
                       help="annotator-bootstrap rounds for the interval (default: Laplace interval)")
    scale.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    scale.add_argument("--prior", type=float, default=None,
                       help="prior strength (default 1 for thurstone, 1e-6 for bt)")
    scale.add_argument("--json", action="store_true", help="print a JSON list instead of CSV")
    scale.set_defaults(func=_scale)

    mos = subparsers.add_parser(
        "mos", help="MOS with BT.500 subject screening from absolute ratings",
        description="Screen subjects (ITU-R BT.500) and compute z-score MOS; prints item,mos,ci_low,ci_high,n_ratings.")
    mos.add_argument("--ratings", required=True, help="CSV with columns annotator,item,score")
    mos.add_argument("--rule", choices=("fraction", "bt500"), default="fraction",
                     help="reject subjects with > 5%% outliers (fraction) or by the classical P/Q rule")
    mos.add_argument("--no-screen", action="store_true", help="skip subject screening")
    mos.add_argument("--json", action="store_true", help="print JSON with items and rejected subjects")
    mos.set_defaults(func=_mos)
