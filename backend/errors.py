"""Errors a user can act on.

Every bad input raises one of these with one sentence saying what is wrong and what to do; the UI shows
it with ``gr.Error``, the CLI prints it to stderr with exit code 2, and the process keeps serving.
"""


class HarmonyLabError(Exception):
    """Base class: the message is a complete sentence meant for the user."""


class InputError(HarmonyLabError, ValueError):
    """An image, mask, file, score or option given by the user cannot be used."""


class ModelUnavailableError(HarmonyLabError, RuntimeError):
    """A registered model cannot be built here (weights missing, dependency absent, ...)."""
