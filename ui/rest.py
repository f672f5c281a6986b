"""Plain JSON HTTP API of the annotation hot path (issue 3), served by the app's own server, on the same port.

The Gradio endpoints ``/next_pair``, ``/vote``, ``/next_item`` and ``/rate`` (see :mod:`ui.annotate`) cost
Gradio's HTTP layer on every call (~200 calls/s and a p99 near 1 s with 32 clients on a 2-core machine,
even for a do-nothing endpoint: ``benchmarks/annotation_load.py``). These routes are the same four
operations as plain Starlette routes, calling the SAME service functions (:mod:`backend.store.pairwise`,
:mod:`backend.store.rating`) — so validation, signed pair/item tokens, gold items, quality control, daily
caps, identity rules and exactly-once storage (the group-commit writer) are identical — without Gradio's
payload processing, sessions or file cache.

Routes (prefix ``/annotate/v1``; JSON in and out, UTF-8):

- ``POST /annotators`` -> ``201 {"annotator_id": "anon-<hex>.<signature>"}``: an annotator id issued by the
  server (:mod:`backend.store.annotators`); every other route needs one (``annotator_id``), or a Hugging
  Face login. Made-up or edited ids get ``403`` with a sentence naming this route.
- ``GET  /campaigns`` -> ``{"campaigns": [{"name", "kind", "open"}, ...]}`` (open campaigns only)
- ``GET  /campaigns/{name}/next_pair?annotator_id=ID`` -> ``{"campaign", "pair_id", "left_image",
  "right_image", "progress"}``; image values are URL paths of the image route below
- ``POST /vote`` ``{"campaign", "annotator_id", "pair_id", "choice", "client_vote_id"}`` -> the
  acknowledgement ``{"status": "stored"|"duplicate", "id", "client_id", "campaign", "response_ms", "choice"}``
- ``GET  /campaigns/{name}/next_item?annotator_id=ID`` -> ``{"campaign", "item_id", "image", "composite",
  "reference", "progress"}`` (composite / reference are ``null`` when the campaign has none)
- ``POST /rate`` ``{"campaign", "annotator_id", "item_id", "score", "client_rating_id"}`` -> the
  acknowledgement (with ``"score"``)
- ``POST /skip`` ``{"campaign", "annotator_id", "token"}`` (``token``: the ``pair_id`` or ``item_id`` served)
  -> the next pair or item as above, or ``{"campaign", "finished": true, "message", "progress"}``; the skip is
  stored as a correction (:mod:`backend.store.session`)
- ``POST /undo`` ``{"campaign", "annotator_id"}`` -> the annotator's latest answer, if at most
  ``session.UNDO_SECONDS`` old, is undone (a correction: its row stays and counts nowhere) and its pair or item
  is served again, in the same form
- ``GET  /images/{sha256}.png`` -> the PNG bytes from the content-addressed media store, the data
  directory's folder or the database (the hash names the content, so the response is cacheable forever:
  ``Cache-Control: public, max-age=31536000, immutable``, ``ETag``; ``If-None-Match`` gives ``304``). Pages
  and clients get images only through this route (no static file path is needed).

Sending the same client id twice stores one answer (``"duplicate"`` the second time, same ``id``), so a
client retries a request whose answer it did not receive with the same body. Errors are JSON
``{"error": "<one sentence saying what to do>"}`` with status 400 (bad input: malformed choice or
rating, altered / foreign / expired token, wrong campaign kind, closed campaign, daily cap, ...), 403
(annotator id missing or not issued by this server), 404 (unknown campaign — the sentence lists open
campaigns only — or image), 413 (body over 64 KB), 429 (rate limit, :mod:`backend.store.limits`, with a
``Retry-After`` header in seconds), 503 (store unavailable) — and nothing is stored.

Input bounds, checked before any work: bodies up to 64 KB, a JSON object of known fields whose values are
strings (up to 256 characters, no NUL, no lone surrogates), numbers (integers of up to 18 digits; no NaN
or infinity) or null — nesting, huge numbers and undecodable text get 400 with a sentence; query values
and path names are checked the same way. Responses are ASCII JSON and never name a server path (images
are URL paths of the image route).

Identity: as on the page. A person signed in with Hugging Face on the Space (Gradio's session cookie,
set by the page's Sign-in button on the same host) answers as ``hf:<user name>``, read from the same
session entry Gradio reads for ``gr.OAuthProfile`` (``request.session["oauth_info"]``, expired logins
ignored); anyone else, including scripts without the cookie, answers under an annotator id issued by
``POST /annotators`` (or the page). No IP address, user agent or other network data is read into the store.

The module imports no Gradio: the routes are Starlette ``Route`` objects that ``app.py`` hands to
``demo.launch(app_kwargs={"routes": routes()})`` (the documented way to pass FastAPI constructor
arguments), so they sit in front of Gradio's own routes in the same FastAPI app, behind the same
middleware, on the same port (also on Spaces, which runs ``python app.py``). Service calls are
synchronous and run in Starlette's thread pool, as Gradio's unqueued endpoints do.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from backend.errors import IdentityError, InputError, ModelUnavailableError, RateLimitedError

PREFIX = "/annotate/v1"
MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_CHARS = 256  # any one string of a request (the longest field, a client id, has 128)
MAX_INT_DIGITS = 18
IMAGE_CACHE = "public, max-age=31536000, immutable"
log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers


class SafeJSONResponse(JSONResponse):
    """JSON rendered as ASCII (any character escaped, so no text can fail to encode) and without NaN."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return SafeJSONResponse({"error": message}, status_code=status, headers=headers)


def hf_user(request: Request) -> str | None:
    """The Hugging Face user name of a valid login in the request's session (as Gradio's OAuth reads it)."""
    session = request.scope.get("session")  # present only when Gradio installed its SessionMiddleware (Spaces)
    if not session:
        return None
    info = session.get("oauth_info")
    if not isinstance(info, dict):
        return None
    expires_at = info.get("expires_at")
    if expires_at is not None and (not isinstance(expires_at, (int, float)) or expires_at < time.time()):
        return None
    userinfo = info.get("userinfo") or {}
    name = userinfo.get("preferred_username") if isinstance(userinfo, dict) else None
    return name if isinstance(name, str) and name else None


def _check_campaign(name: object) -> None:
    """404 for a campaign that does not exist (400 when no name was given)."""
    from backend.store.campaigns import get_campaign

    try:
        get_campaign(name)
    except InputError as error:
        raise ApiError(404 if isinstance(name, str) and name.strip() else 400, str(error)) from error


async def _run(request: Request, work: Callable[[], Any], status: int = 200) -> Response:
    """Run ``work`` in the thread pool; turn what it returns into JSON and its errors into 4xx/5xx JSON."""
    try:
        return SafeJSONResponse(await run_in_threadpool(work), status_code=status)
    except ApiError as error:
        return _error(error.status, str(error), error.headers)
    except RateLimitedError as error:
        return _error(429, str(error), {"Retry-After": str(error.retry_after)})
    except IdentityError as error:
        return _error(403, str(error))
    except InputError as error:
        return _error(400, str(error))
    except ModelUnavailableError as error:
        return _error(503, str(error))
    except Exception:  # the store is unreachable, or a bug: logged here, one sentence to the client
        log.exception("annotation API %s %s failed", request.method, request.url.path)
        return _error(503, "The annotation store could not handle the request; retry in a moment with the same "
                           "client id (answers are stored at most once).")


# ------------------------------------------------------------------------------------------ input bounds


class _Refused(ValueError):
    """A JSON value outside the bounds (raised from inside the parser's hooks)."""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("a number is too large")
    return value


def _no_constant(text: str) -> float:
    raise _Refused(f"{text} is not a number JSON allows")


def parse_json(raw: bytes) -> Any:
    """JSON text within the bounds (module docstring); ApiError 400 with a sentence otherwise."""
    try:
        return json.loads(raw, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)
    except _Refused as error:
        raise ApiError(400, f"The request body was refused: {error}; send only the documented fields.") from error
    except RecursionError as error:
        raise ApiError(400, "The request body nests too deeply; send one flat JSON object.") from error
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError is a ValueError; so is an over-long integer
        return None


def check_text(value: str, what: str) -> str:
    """``value`` when it is text a request may carry (length, no NUL, no lone surrogates), else 400."""
    if len(value) > MAX_TEXT_CHARS:
        raise ApiError(400, f"The {what} is longer than {MAX_TEXT_CHARS} characters; send the value the API gave you.")
    if "\x00" in value:
        raise ApiError(400, f"The {what} contains a NUL character; send the value the API gave you.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ApiError(400, f"The {what} contains a lone surrogate, which is not text; send UTF-8 text.") from error
    return value


def _check_value(field: str, value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):  # numbers already bounded by the parser
        return value
    if isinstance(value, str):
        return check_text(value, f"field '{field}'")
    raise ApiError(400, f"The field '{field}' holds a {'list' if isinstance(value, list) else 'JSON object'}; send "
                        "a string or a number.")


async def _body(request: Request, fields: tuple[str, ...]) -> dict:
    """The JSON object of a POST body with exactly the expected fields (missing ones are None)."""
    too_big = ApiError(413, f"The request body is over {MAX_BODY_BYTES // 1024} KB; send only the answer's fields.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and (len(declared) > 12 or int(declared) > MAX_BODY_BYTES):
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():  # also bounded when the client sends no (or a false) Content-Length
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big
        chunks.append(chunk)
    body = parse_json(b"".join(chunks))
    if not isinstance(body, dict):
        raise ApiError(400, f"The request body is not a JSON object; send {{{', '.join(repr(f) for f in fields)}}} "
                            "with Content-Type: application/json.")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        names = ", ".join(repr(check_text(name, "field name"))[:40] for name in unknown[:5])
        raise ApiError(400, f"Unknown field(s) {names}; send only {', '.join(map(repr, fields))}.")
    return {field: _check_value(field, body.get(field)) for field in fields}


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return None if value is None else check_text(value, f"query parameter '{name}'")


def _path(request: Request, name: str) -> str:
    return check_text(request.path_params[name], "name in the path")


def _image_path(request: Request, file: str | None) -> str | None:
    """The URL path of a stored image file (its name is ``<sha256>.png``), under the app's root path."""
    if file is None:
        return None
    return request.url_for("annotate_image", sha256=Path(file).stem).path


# ------------------------------------------------------------------------------------------ handlers


async def new_annotator(request: Request) -> Response:
    """A new annotator id issued by the server (the request body, if any, is ignored)."""
    from backend.store.annotators import issue_annotator_id

    return await _run(request, lambda: {"annotator_id": issue_annotator_id()}, status=201)


async def list_open_campaigns(request: Request) -> Response:
    from backend.store.campaigns import list_campaigns

    return await _run(request, lambda: {"campaigns": list_campaigns(only_open=True)})


def _pair_json(request: Request, name: str, served) -> dict:
    return {"campaign": name, "pair_id": served.pair_id, "left_image": _image_path(request, served.left_image),
            "right_image": _image_path(request, served.right_image), "progress": served.progress.text}


def _item_json(request: Request, name: str, served) -> dict:
    return {"campaign": name, "item_id": served.item_id, "image": _image_path(request, served.image),
            "composite": _image_path(request, served.composite),
            "reference": _image_path(request, served.reference), "progress": served.progress.text}


def _session_json(request: Request, name: str, served) -> dict:
    """What the worker gets next after a skip or an undo: the pair or item (as next_pair / next_item give it),
    or ``{"campaign", "finished": true, "message", "progress"}``."""
    if served.pair is not None:
        return _pair_json(request, name, served.pair)
    if served.item is not None:
        return _item_json(request, name, served.item)
    return {"campaign": name, "finished": True, "message": served.message, "progress": served.progress.text}


async def next_pair(request: Request) -> Response:
    from backend.store import pairwise

    def work() -> dict:
        name, annotator_id = _path(request, "name"), _query(request, "annotator_id")
        _check_campaign(name)
        return _pair_json(request, name, pairwise.next_pair(name, annotator_id, hf_user=hf_user(request)))

    return await _run(request, work)


async def next_item(request: Request) -> Response:
    from backend.store import rating

    def work() -> dict:
        name, annotator_id = _path(request, "name"), _query(request, "annotator_id")
        _check_campaign(name)
        return _item_json(request, name, rating.next_item(name, annotator_id, hf_user=hf_user(request)))

    return await _run(request, work)


async def skip(request: Request) -> Response:
    from backend.store import session

    try:
        body = await _body(request, ("campaign", "annotator_id", "token"))
    except ApiError as error:
        return _error(error.status, str(error))
    user = hf_user(request)

    def work() -> dict:
        _check_campaign(body["campaign"])
        served = session.skip(body["campaign"], body["annotator_id"], body["token"], hf_user=user)
        return _session_json(request, body["campaign"], served)

    return await _run(request, work)


async def undo(request: Request) -> Response:
    from backend.store import session

    try:
        body = await _body(request, ("campaign", "annotator_id"))
    except ApiError as error:
        return _error(error.status, str(error))
    user = hf_user(request)

    def work() -> dict:
        _check_campaign(body["campaign"])
        served = session.undo_last(body["campaign"], body["annotator_id"], hf_user=user)
        return _session_json(request, body["campaign"], served)

    return await _run(request, work)


async def vote(request: Request) -> Response:
    from backend.store import pairwise

    try:
        body = await _body(request, ("campaign", "annotator_id", "pair_id", "choice", "client_vote_id"))
    except ApiError as error:
        return _error(error.status, str(error))
    user = hf_user(request)

    def work() -> dict:
        _check_campaign(body["campaign"])
        return pairwise.vote(body["campaign"], body["annotator_id"], body["pair_id"], body["choice"],
                             body["client_vote_id"], hf_user=user)

    return await _run(request, work)


async def rate(request: Request) -> Response:
    from backend.store import rating

    try:
        body = await _body(request, ("campaign", "annotator_id", "item_id", "score", "client_rating_id"))
    except ApiError as error:
        return _error(error.status, str(error))
    user = hf_user(request)

    def work() -> dict:
        _check_campaign(body["campaign"])
        return rating.rate(body["campaign"], body["annotator_id"], body["item_id"], body["score"],
                           body["client_rating_id"], hf_user=user)

    return await _run(request, work)


async def image(request: Request) -> Response:
    """A stored image by content hash, cacheable forever (its name is its content), from whichever media store
    holds it (:mod:`backend.store.media`): a local file is sent as a file, an image kept in the database as its
    bytes, with the same headers."""
    from backend.store.db import default_database
    from backend.store.media import MissingImageError, is_hash

    sha256 = request.path_params["sha256"]
    if not is_hash(sha256):
        return _error(400, "That is not an image hash; hashes are 64 lowercase hex digits (use the image paths the "
                           "API returns).")
    etag = f'"{sha256}"'
    headers = {"Cache-Control": IMAGE_CACHE, "ETag": etag}
    revalidating = etag in request.headers.get("if-none-match", "")
    try:
        media = default_database().media
        found = await run_in_threadpool(media.has if revalidating else media.source, sha256)
    except MissingImageError:
        found = False
    except Exception:
        log.exception("annotation API: the media store is unavailable")
        return _error(503, "The annotation store is unavailable; retry in a moment.")
    if found is False:
        return _error(404, f"There is no stored image {sha256[:12]}...; use the image paths the API returns.")
    if revalidating:
        return Response(status_code=304, headers=headers)
    if isinstance(found, Path):
        return FileResponse(found, media_type="image/png", headers=headers)
    return Response(found, media_type="image/png", headers=headers)


def routes() -> list[BaseRoute]:
    """The routes, for ``demo.launch(app_kwargs={"routes": routes()})`` or any Starlette/FastAPI app."""
    return [
        Route(f"{PREFIX}/annotators", new_annotator, methods=["POST"]),
        Route(f"{PREFIX}/campaigns", list_open_campaigns, methods=["GET"]),
        Route(f"{PREFIX}/campaigns/{{name}}/next_pair", next_pair, methods=["GET"]),
        Route(f"{PREFIX}/campaigns/{{name}}/next_item", next_item, methods=["GET"]),
        Route(f"{PREFIX}/vote", vote, methods=["POST"]),
        Route(f"{PREFIX}/rate", rate, methods=["POST"]),
        Route(f"{PREFIX}/skip", skip, methods=["POST"]),
        Route(f"{PREFIX}/undo", undo, methods=["POST"]),
        Route(f"{PREFIX}/images/{{sha256}}.png", image, methods=["GET", "HEAD"], name="annotate_image"),
    ]
