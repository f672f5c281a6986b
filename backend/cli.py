"""Command-line dispatcher for ``python -m backend``.

Each capability lives in its own command module exposing ``add_parsers(subparsers)``; the module registers
one or more sub-commands with ``parser.set_defaults(func=handler)``, where ``handler(args) -> int`` returns
the exit code. Command modules must import heavy libraries (torch, pyiqa, ...) inside their handlers, so
that ``--help`` stays fast. The settings are read once before the command runs (a bad value is an error
naming the variable). Errors deriving from ``HarmonyLabError`` become one sentence on stderr and exit
code 2 (DESIGN.md conventions).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from backend.errors import HarmonyLabError

COMMAND_MODULES = (
    "backend.iqa.cli",
    "backend.scaling.cli",
    "backend.iqa.compare2score.cli",
    "backend.store.cli",
    "backend.harmonization.cli",
    "backend.leaderboard_cli",
    "backend.iqa.promptiqa.cli",
    "backend.iqa.dogiqa.cli",
    "backend.iqa.harmonyiqa.cli",
    "backend.settings_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="HarmonyLab command line")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from backend import settings

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings.load()
        return int(args.func(args) or 0)
    except HarmonyLabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
