"""``python -m backend settings``: the settings this process would run with, or the README's table.

``settings`` prints every variable with its parsed value (secrets shown as ``set`` / ``unset``);
``settings --markdown`` prints the configuration table the README carries (a test keeps them equal).
"""

from __future__ import annotations

import argparse

SECRET_FIELDS = ("admin_password", "browser_secret")


def _show(args: argparse.Namespace) -> int:
    from backend import settings

    if args.markdown:
        print(settings.markdown_table())
        return 0
    current = settings.current()
    for variable in settings.VARIABLES:
        value = getattr(current, variable.field)
        if variable.field in SECRET_FIELDS:
            value = "set" if value else "unset"
        print(f"{variable.env}={'' if value is None else value}")
    return 0


def add_parsers(subparsers) -> None:
    parser = subparsers.add_parser("settings", help="show the settings (environment variables) in effect")
    parser.add_argument("--markdown", action="store_true", help="print the README's configuration table instead")
    parser.set_defaults(func=_show)
