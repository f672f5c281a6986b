"""Helpers shared by the tabs: turning backend errors into ``gr.Error`` and small formatting utilities."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import gradio as gr

from backend.errors import HarmonyLabError, IdentityError, ModelUnavailableError, RateLimitedError

# The title of the gr.Error a backend error becomes; ui.gradio_http.GradioGuard turns it into the HTTP status
# of Gradio's /gradio_api/run/ endpoints (Gradio itself answers every error there with 500).
ERROR_TITLES = {"Too many requests": 429, "Not allowed": 403, "Unavailable": 503, "Error": 400}


def error_title(error: HarmonyLabError) -> str:
    if isinstance(error, RateLimitedError):
        return "Too many requests"
    if isinstance(error, IdentityError):
        return "Not allowed"
    if isinstance(error, ModelUnavailableError):
        return "Unavailable"
    return "Error"


def user_errors(handler):
    """Show a backend error's sentence in the UI (and as the API error) instead of a stack trace."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except HarmonyLabError as error:
            raise gr.Error(str(error), title=error_title(error), print_exception=False) from error

    return wrapper


def check_admin_password(password) -> None:
    """The portal's admin password, with a sentence for an empty field (before any comparison)."""
    from backend.errors import InputError
    from backend.store import admin

    if admin.admin_enabled() and not (isinstance(password, str) and password):
        raise InputError("Type the admin password first; the operator of this page has it.")
    admin.check_password(password)


def file_paths(value) -> list[str]:
    """Paths from a ``gr.File`` value (None, one path, a list of paths, or FileData-like dicts)."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    paths = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("path") or item.get("name")
        elif hasattr(item, "name") and not isinstance(item, str):
            item = item.name
        if item:
            paths.append(str(item))
    return paths


def temporary_file(suffix: str, prefix: str = "harmonylab-") -> Path:
    """A fresh file path in the temporary directory, for downloads the UI offers."""
    handle = tempfile.NamedTemporaryFile(prefix=prefix, suffix=suffix, delete=False)
    handle.close()
    return Path(handle.name)


def not_built_yet(what: str) -> None:
    """One line saying a tab's capability is not built yet (no fake widgets)."""
    gr.Markdown(f"*Not built yet: {what}.*")


def rounded(table, digits: int):
    """``table.round(digits)`` without its overflow: pandas rounds by multiplying by 10**digits, which turns
    1e308 into inf (an empty cell in the page and ``null`` in the API, issue #20); Python's ``round`` of a
    float is exact at any magnitude."""
    import pandas as pd

    return table.apply(lambda column: column.map(lambda value: round(float(value), digits))
                       if pd.api.types.is_float_dtype(column) else column)


def checked_uploads(what: str, decode: bool = False):
    """An ``.upload`` handler for an image ``gr.File``: each file is checked at once (an image Pillow reads,
    within the pixel limit; ``decode``: not truncated) and one that is not is taken out again with a warning
    that says why -- instead of Gradio's "Error" badge, or a refusal after the visitor pressed Run."""

    def check(value):
        from backend.errors import HarmonyLabError
        from backend.images import check_image_file

        kept, problems = [], []
        for path in file_paths(value):
            try:
                check_image_file(path, name=what, decode=decode)
                kept.append(path)
            except HarmonyLabError as error:
                problems.append(str(error))
        if not problems:
            return gr.skip()
        for problem in problems:
            gr.Warning(problem)
        return gr.File(value=kept or None)

    return check
