"""Errors a user can act on.

Every bad input raises one of these with one sentence saying what is wrong and what to do; the UI shows
it with ``gr.Error``, the CLI prints it to stderr with exit code 2, and the process keeps serving.
"""


import logging

log = logging.getLogger(__name__)


class HarmonyLabError(Exception):
    """Base class: the message is a complete sentence meant for the user."""


class InputError(HarmonyLabError, ValueError):
    """An image, mask, file, score or option given by the user cannot be used."""


class ModelUnavailableError(HarmonyLabError, RuntimeError):
    """A registered model cannot be built here (weights missing, dependency absent, ...)."""


class IdentityError(InputError):
    """The request names no annotator identity this server issued (a made-up, altered or missing id)."""


class RateLimitedError(InputError):
    """Too many requests in a short time; ``retry_after`` is the whole number of seconds to wait."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


def shown(value: object, limit: int = 40) -> str:
    """``value`` as it may appear inside an error sentence: a short ``repr`` with control characters and
    lone surrogates escaped (so the sentence encodes as UTF-8 and JSON), long values cut, and numbers too
    long to print (Python refuses ints over 4300 digits) described instead."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "a number too large to accept"
    try:
        text = repr(value)
    except ValueError:  # an object whose repr refuses (e.g. a numpy integer too large to print)
        return f"a {type(value).__name__} value"
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text.encode("ascii", "backslashreplace").decode("ascii")


def failure_reason(error: BaseException, name: str, advice: str = "use a smaller image") -> str:
    """The sentence shown beside other results when the model or method ``name`` failed on one input (partial
    results, issue #22): a HarmonyLabError's own sentence; running out of memory with ``advice``; anything else
    is logged with its traceback and named only by its type."""
    if isinstance(error, HarmonyLabError):
        return str(error)
    if isinstance(error, MemoryError) or "allocate" in str(error).lower():
        return f"'{name}' ran out of memory on this image; {advice}."
    log.exception("%s failed", name)
    return f"'{name}' failed unexpectedly on this image ({type(error).__name__}); the server's log has details."
