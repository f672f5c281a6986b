"""CLI: ``python -m backend leaderboard`` and ``python -m backend models-vs-people`` (see backend/leaderboard.py).

``leaderboard --campaign NAME [--scaling bt|thurstone] [--bootstrap N] [--json]`` prints the method ranking
as CSV ``rank,method,score,ci_low,ci_high,n``; ``models-vs-people --campaign NAME --model M [--model M ...]
[--bootstrap N] [--json]`` prints ``model,srcc,srcc_low,srcc_high,krcc,...,plcc,...,n_items``.
"""

from __future__ import annotations

import argparse
import sys


def _print(table, as_json: bool) -> None:
    if as_json:
        print(table.to_json(orient="records", indent=2))
    else:
        table.to_csv(sys.stdout, index=False, float_format="%.6g")


def _leaderboard(args: argparse.Namespace) -> int:
    from backend.leaderboard import method_ranking

    _print(method_ranking(args.campaign, args.scaling, args.bootstrap, args.seed), args.json)
    return 0


def _models_vs_people(args: argparse.Namespace) -> int:
    from backend.leaderboard import models_vs_people

    _print(models_vs_people(args.campaign, args.model, args.bootstrap, args.seed).correlations, args.json)
    return 0


def add_parsers(subparsers) -> None:
    board = subparsers.add_parser("leaderboard", help="rank a campaign's methods with confidence intervals")
    board.add_argument("--campaign", required=True)
    board.add_argument("--scaling", choices=("bt", "thurstone"), default="bt", help="pairwise scaling model")
    board.add_argument("--bootstrap", type=int, default=500, help="bootstrap rounds over annotators (0: Hessian SEs)")
    board.add_argument("--seed", type=int, default=0)
    board.add_argument("--json", action="store_true")
    board.set_defaults(func=_leaderboard)

    versus = subparsers.add_parser("models-vs-people", help="correlate registry IQA models with a campaign's human scores")
    versus.add_argument("--campaign", required=True)
    versus.add_argument("--model", action="append", required=True, help="registry model (repeat for several)")
    versus.add_argument("--bootstrap", type=int, default=500)
    versus.add_argument("--seed", type=int, default=0)
    versus.add_argument("--json", action="store_true")
    versus.set_defaults(func=_models_vs_people)
