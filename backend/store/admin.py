"""The admin password of the portal's admin section (create campaigns, export, statistics, flags).

The setting ``HARMONYLAB_ADMIN_PASSWORD`` enables the section; without it the section is disabled. The password is
compared in constant time. The command line needs no password (whoever runs it owns the data).
"""

from __future__ import annotations

import hmac

from backend import settings
from backend.errors import InputError

ENV = "HARMONYLAB_ADMIN_PASSWORD"


def admin_enabled() -> bool:
    return settings.current().admin_password is not None


def check_password(given: object) -> None:
    expected = settings.current().admin_password or ""
    if not expected:
        raise InputError(f"The admin section is disabled; set {ENV} on the server to enable it.")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise InputError("The admin password is wrong; ask the portal's operator for it.")
