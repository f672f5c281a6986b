"""The Annotate tab's Gradio endpoints over plain HTTP: inputs bounded before Gradio parses them, and 4xx
statuses for the errors a caller can fix.

Gradio answers ``POST /gradio_api/run/<api name>`` with status 500 for every error a handler raises, a
``gr.Error`` sentence included, and parses request bodies with Python's ``json`` (so deep nesting, NaN or
a 5000-digit number reach it). :class:`GradioGuard`, an ASGI middleware that ``app.py`` installs through
``demo.launch(app_kwargs={"middleware": ...})``, sits in front of the endpoints of :data:`GUARDED`:

1. **Requests** (``/gradio_api/run/<name>``, its alias ``/gradio_api/api/<name>``, the queue's
   ``/gradio_api/call/<name>`` and ``call/v2``, and any of these naming another endpoint but choosing a
   guarded one by ``fn_index``): the body must be at
   most 64 KB (else 413) of JSON within the bounds of :func:`ui.rest.parse_json` (integers up to 18
   digits, no NaN or infinity, no deep nesting), whose ``data`` is a list of exactly the endpoint's inputs,
   each a string (up to 256 characters, no NUL, no lone surrogates), number, boolean, null or a short list
   of those; anything else gets 400 and
   ``{"error": "<sentence>"}`` before Gradio sees it. The request then goes on to Gradio unchanged.
2. **Responses** of ``/gradio_api/run/<name>`` with status 500 that carry the title of a ``gr.Error``
   raised for the caller's input (:data:`ui.common.ERROR_TITLES`, set by :func:`ui.common.user_errors`)
   get that error's status: 400 (bad input), 403 (annotator id not issued by this server) or 429 (rate
   limit, with ``Retry-After``). Other 500s (a bug, the store down) stay 500.

Through the queue (``/gradio_api/call/...``, ``gradio_client``, the page) Gradio reports errors as events of
the stream, not as statuses; their sentences are the same.

3. **Client disconnects** on any other route (a visitor who leaves or loses signal while an upload is still
   streaming; Gradio's upload route raises ``ClientDisconnect``) end the request quietly with one log line,
   instead of an "Exception in ASGI application" traceback in the server log.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import ClientDisconnect

from ui.common import ERROR_TITLES
from ui.rest import MAX_BODY_BYTES, ApiError, check_text, parse_json

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

GUARDED = {  # endpoint -> its inputs, in order
    "new_annotator": (),
    "next_pair": ("campaign", "annotator_id"),
    "vote": ("campaign", "annotator_id", "pair_id", "choice", "client_vote_id"),
    "next_item": ("campaign", "annotator_id"),
    "rate": ("campaign", "annotator_id", "item_id", "score", "client_rating_id"),
    "leaderboard": ("campaign", "scaling", "bootstrap_rounds", "mos_scale"),
    "models_vs_people": ("campaign", "models", "bootstrap_rounds"),
}
ROUTE = re.compile(r"/gradio_api/(?P<route>run|api|call|call/v2)/(?P<name>[^/]+)/?$")  # Gradio's API routes
MAX_DEPTH = 4
RETRY = re.compile(r"wait (\d{1,6}) s")


def _walk(value: Any, where: str, depth: int = 0) -> None:
    """Every string, number and container of a request body within bounds (ApiError 400 otherwise)."""
    if depth > MAX_DEPTH:
        raise ApiError(400, f"The request nests too deeply at {where}; send the endpoint's values as a flat list.")
    if isinstance(value, str):
        check_text(value, where)
    elif isinstance(value, list):
        if len(value) > 64:
            raise ApiError(400, f"The list at {where} holds {len(value)} values; send at most 64.")
        for index, item in enumerate(value):
            _walk(item, f"{where}[{index}]", depth + 1)
    elif isinstance(value, dict):
        if len(value) > 16:
            raise ApiError(400, f"The object at {where} holds {len(value)} keys; send only the documented ones.")
        for key, item in value.items():
            _walk(item, f"{where}.{check_text(key, 'a key')[:20]}", depth + 1)


def check_body(raw: bytes, endpoint: str) -> None:
    """A request body for a guarded endpoint within the bounds (module docstring); ApiError otherwise."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"The request body is over {MAX_BODY_BYTES // 1024} KB; send only the endpoint's values.")
    body = parse_json(raw)
    inputs = GUARDED[endpoint]
    expected = f"/{endpoint} takes {len(inputs)} value(s){': ' + ', '.join(inputs) if inputs else ''}"
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ApiError(400, f'The request body is not a JSON object with a "data" list; {expected}, sent as '
                            '{"data": [...]}.')
    _walk(body, "the body")
    if len(body["data"]) != len(inputs):
        raise ApiError(400, f"The request sends {len(body['data'])} value(s); {expected}.")


def _status_of(body: bytes) -> tuple[int, dict[str, str]] | None:
    """The status of a Gradio error payload raised for the caller's input, with its headers; else None."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    title = payload.get("title") if isinstance(payload, dict) else None
    if title not in ERROR_TITLES:
        return None
    status = ERROR_TITLES[title]
    if status != 429:
        return status, {}
    found = RETRY.search(str(payload.get("error") or ""))
    return status, {"retry-after": found.group(1) if found else "1"}


def _json_response(status: int, message: str) -> tuple[Message, Message]:
    body = json.dumps({"error": message}, ensure_ascii=True).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


class GradioGuard:
    """ASGI middleware: bounds on the guarded endpoints' requests, 4xx statuses for their user errors.

    ``api_names`` (``{fn_index: api_name}`` of the app's events) lets it recognise a guarded endpoint called
    through another route name with ``fn_index`` in the body, which Gradio honours.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], api_names: dict[int, str] | None = None):
        self.app = app
        self.api_names = api_names or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = ROUTE.search(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "POST":
            try:
                await self.app(scope, receive, send)
            except ClientDisconnect:  # a visitor left mid-upload (a phone losing signal): nothing to answer
                log.info("client disconnected during %s %s", scope.get("method"), scope.get("path"))
            return
        chunks, size, more = [], 0, True
        while more and size <= MAX_BODY_BYTES:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        name = match.group("name") if match.group("name") in GUARDED else None
        if name is None and not more:  # another endpoint, unless the body picks a guarded one by fn_index
            name = self._chosen_by_index(raw)
        if name is not None:
            try:
                check_body(raw, name)
            except ApiError as error:
                for reply in _json_response(error.status, str(error)):
                    await send(reply)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": more}
            return await receive()

        statuses = name is not None and match.group("route") in ("run", "api")
        await self.app(scope, replay, self._statuses(send) if statuses else send)

    def _chosen_by_index(self, raw: bytes) -> str | None:
        if b"fn_index" not in raw:
            return None
        try:
            index = json.loads(raw).get("fn_index")
        except (ValueError, AttributeError, RecursionError):
            return None  # Gradio refuses what it cannot parse itself
        name = self.api_names.get(index) if isinstance(index, int) else None
        return name if name in GUARDED else None

    @staticmethod
    def _statuses(send: Send) -> Send:
        """A ``send`` that gives a 500 carrying a user error's title that error's status."""
        held: Message | None = None
        body: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] == 500:
                held = message
                return
            if held is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            raw = b"".join(body)
            mapped = _status_of(raw)
            if mapped is not None:
                status, extra = mapped
                headers = [(k, v) for k, v in held.get("headers", []) if k.lower() != b"retry-after"]
                held = {**held, "status": status, "headers": headers + [(k.encode(), v.encode()) for k, v in extra.items()]}
            await send(held)
            await send({"type": "http.response.body", "body": raw, "more_body": False})

        return wrapped
