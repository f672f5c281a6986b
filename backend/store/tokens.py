"""Signed tokens naming what was served: the ``pair_id`` of ``/next_pair`` and the ``item_id`` of ``/next_item``.

A token is ``<kind><campaign id>.<item ids joined by '-'>.<gold id or 0>.<issued ms>.<nonce>.<signature>``,
e.g. ``p3.17-42.0.1767000000000.Xk2v9QbW1aZr.<22 chars>``, where ``kind`` is ``p`` (pair: left item, then
right item) or ``r`` (one item to rate). The signature is HMAC-SHA256 (first 128 bits, base64url) over the
token body *and the annotator's key*, keyed with the campaign's secret (random, stored in the campaign row,
so every app replica verifies tokens of every other replica).

So an answer can be verified against what was served without storing what was served: a token whose
campaign, items, left side or gold flag was edited, a token of another campaign, or a token served to
another annotator fails the signature and is refused. The nonce identifies the serving; the answer
tables keep it UNIQUE, so one served pair/item is answered at most once. The issue time gives the
server-side response time (serving to answer) used by the minimum-response-time check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from backend.errors import InputError

MAX_AGE_MS = 24 * 3600 * 1000
_TOKEN = re.compile(r"^([pr])(\d{1,12})\.(\d{1,12}(?:-\d{1,12})?)\.(\d{1,12})\.(\d{13})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})$")
_NAMES = {"p": ("pair id", "/next_pair"), "r": ("item id", "/next_item")}


@dataclass(frozen=True)
class Served:
    kind: str
    campaign_id: int
    item_ids: tuple[int, ...]
    gold_id: int | None
    issued_ms: int
    nonce: str

    def age_ms(self, now_ms: int | None = None) -> int:
        return (now_ms if now_ms is not None else now_millis()) - self.issued_ms


def now_millis() -> int:
    return time.time_ns() // 1_000_000


def new_secret() -> str:
    return secrets.token_hex(32)


def _signature(secret: str, body: str, annotator_key: str) -> str:
    digest = hmac.new(bytes.fromhex(secret), f"{body}|{annotator_key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def issue(secret: str, annotator_key: str, kind: str, campaign_id: int, item_ids: tuple[int, ...],
          gold_id: int | None = None) -> str:
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(12)).decode()
    body = f"{kind}{campaign_id}.{'-'.join(map(str, item_ids))}.{gold_id or 0}.{now_millis()}.{nonce}"
    return f"{body}.{_signature(secret, body, annotator_key)}"


def read(token: object, kind: str, campaign_id: int, campaign_name: str, secret: str, annotator_key: str) -> Served:
    """Parse and verify ``token``; raise InputError with what to do when it cannot be used."""
    what, endpoint = _NAMES[kind]
    text = token.strip() if isinstance(token, str) else ""
    match = _TOKEN.match(text)
    if match is None or match.group(1) != kind:
        raise InputError(f"The {what} is malformed; call {endpoint} and send back the {what} it returns, unchanged.")
    body, signature = text.rsplit(".", 1)
    _, token_campaign, items, gold, issued, nonce, _ = match.groups()
    if int(token_campaign) != campaign_id:
        raise InputError(f"The {what} was served for another campaign, not '{campaign_name}'; call {endpoint} "
                         f"for '{campaign_name}' and answer that.")
    if not hmac.compare_digest(signature, _signature(secret, body, annotator_key)):
        raise InputError(f"The {what} was not served by campaign '{campaign_name}' to this annotator (it was "
                         f"altered, or served to someone else); call {endpoint} and answer what it serves.")
    item_ids = tuple(int(i) for i in items.split("-"))
    if len(item_ids) != (2 if kind == "p" else 1):
        raise InputError(f"The {what} is malformed; call {endpoint} and send back the {what} it returns, unchanged.")
    served = Served(kind, campaign_id, item_ids, int(gold) or None, int(issued), nonce)
    if served.age_ms() > MAX_AGE_MS:
        raise InputError(f"The {what} was served more than 24 hours ago; call {endpoint} for a fresh one.")
    return served
