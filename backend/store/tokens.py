"""Opaque tokens naming what was served: the ``pair_id`` of ``/next_pair`` and the ``item_id`` of ``/next_item``.

A token is ``<kind><campaign id>.<sealed>``, e.g. ``p3.Xk2v9QbW1aZr...`` (64 base64url characters after
the dot), where ``kind`` is ``p`` (a pair) or ``r`` (one item to rate). Nothing else is readable: the item
ids, which one is on the left, whether it is a gold pair, and when it was served are sealed inside.

``sealed`` is ``nonce (12 random bytes) | ciphertext | tag (16 bytes)``, encrypt-then-MAC built from the
standard library (no AEAD library is among the dependencies):

- plaintext: issue time (ms, 8 bytes), the item ids (left then right, or the rated item; 4 bytes each)
  and the gold answer id (4 bytes, 0 for none) — the same length for gold and ordinary pairs;
- ciphertext: plaintext XOR a keystream, keyed BLAKE2b(nonce) under the encryption key (a PRF used as a
  stream cipher; a fresh random 96-bit nonce per token);
- tag: HMAC-SHA256 (first 128 bits) over the kind, the campaign id, *the annotator's key*, the nonce and the
  ciphertext, under the MAC key.

Both keys are derived (HMAC-SHA256) from the campaign's secret, which is random and stored in the campaign
row, so every app replica opens the tokens of every other replica and no process keeps state about what it
served. The tag is checked before anything is decrypted: a token that was edited, belongs to another
campaign, or was served to another annotator is refused. The nonce identifies the serving; the answer
tables keep it UNIQUE (``served_nonce``), so one served pair/item is answered at most once. The issue
time gives the server-side response time (serving to answer) used by the minimum-response-time check.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import struct
import time
from dataclasses import dataclass

from backend.errors import InputError

MAX_AGE_MS = 24 * 3600 * 1000
NONCE_BYTES = 12
TAG_BYTES = 16
_LAYOUT = {"p": struct.Struct(">QIII"), "r": struct.Struct(">QII")}  # issued ms, item id(s), gold id
_TOKEN = re.compile(r"^([pr])(\d{1,12})\.([A-Za-z0-9_-]{20,200})$")
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


@functools.lru_cache(maxsize=4096)
def _keys(secret: str) -> tuple[bytes, bytes]:
    root = bytes.fromhex(secret)
    return (hmac.new(root, b"harmonylab/token-encryption", hashlib.sha256).digest(),
            hmac.new(root, b"harmonylab/token-mac", hashlib.sha256).digest())


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    return hashlib.blake2b(nonce, key=key, digest_size=length).digest()


def _tag(key: bytes, kind: str, campaign_id: int, annotator_key: str, nonce: bytes, ciphertext: bytes) -> bytes:
    header = f"{kind}{campaign_id}|{annotator_key}|".encode()
    return hmac.new(key, header + nonce + ciphertext, hashlib.sha256).digest()[:TAG_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def issue(secret: str, annotator_key: str, kind: str, campaign_id: int, item_ids: tuple[int, ...],
          gold_id: int | None = None, issued_ms: int | None = None) -> str:
    """A sealed token for what is served now (``issued_ms`` only for tests of expiry)."""
    encryption, mac = _keys(secret)
    plaintext = _LAYOUT[kind].pack(now_millis() if issued_ms is None else issued_ms, *item_ids, gold_id or 0)
    nonce = secrets.token_bytes(NONCE_BYTES)
    ciphertext = bytes(a ^ b for a, b in zip(plaintext, _keystream(encryption, nonce, len(plaintext)), strict=True))
    tag = _tag(mac, kind, campaign_id, annotator_key, nonce, ciphertext)
    return f"{kind}{campaign_id}.{_b64(nonce + ciphertext + tag)}"


def read(token: object, kind: str, campaign_id: int, campaign_name: str, secret: str, annotator_key: str) -> Served:
    """Verify and open ``token``; raise InputError with what to do when it cannot be used."""
    what, endpoint = _NAMES[kind]
    malformed = InputError(f"The {what} is malformed; call {endpoint} and send back the {what} it returns, unchanged.")
    text = token.strip() if isinstance(token, str) else ""
    match = _TOKEN.match(text)
    if match is None or match.group(1) != kind:
        raise malformed
    if int(match.group(2)) != campaign_id:
        raise InputError(f"The {what} was served for another campaign, not '{campaign_name}'; call {endpoint} "
                         f"for '{campaign_name}' and answer that.")
    try:
        sealed = base64.urlsafe_b64decode(match.group(3) + "=" * (-len(match.group(3)) % 4))
    except (binascii.Error, ValueError):
        raise malformed from None
    layout = _LAYOUT[kind]
    if len(sealed) != NONCE_BYTES + layout.size + TAG_BYTES:
        raise malformed
    nonce, ciphertext, tag = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:-TAG_BYTES], sealed[-TAG_BYTES:]
    encryption, mac = _keys(secret)
    if not hmac.compare_digest(tag, _tag(mac, kind, campaign_id, annotator_key, nonce, ciphertext)):
        raise InputError(f"The {what} was not served by campaign '{campaign_name}' to this annotator (it was "
                         f"altered, or served to someone else); call {endpoint} and answer what it serves.")
    plaintext = bytes(a ^ b for a, b in zip(ciphertext, _keystream(encryption, nonce, len(ciphertext)), strict=True))
    issued, *items, gold = layout.unpack(plaintext)
    served = Served(kind, campaign_id, tuple(items), gold or None, issued, _b64(nonce))
    if served.age_ms() > MAX_AGE_MS:
        raise InputError(f"The {what} was served more than 24 hours ago; call {endpoint} for a fresh one.")
    return served
