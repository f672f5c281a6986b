"""Rate limits of the annotation services and the bounded per-process tables behind them.

Limits (settings, :mod:`backend.settings`; ``none`` switches one off):

- ``HARMONYLAB_ANNOTATOR_ANSWERS_PER_MINUTE`` (default 60): answers of one annotator, all campaigns
  together (a person answers at most about once a second). Pairs/items *served* to one annotator are
  limited to twice that (the page serves one after each answer, API clients may fetch ahead a little).
- ``HARMONYLAB_CAMPAIGN_ANSWERS_PER_MINUTE`` (default 6000): answers of all annotators of one campaign
  (100 a second), and twice that in served pairs/items. Minting new identities cannot get around it.
- ``HARMONYLAB_NEW_ANNOTATORS_PER_MINUTE`` (default 300): annotator ids this process issues (page
  visitors without an id, ``POST /annotate/v1/annotators``), so per-annotator limits and daily caps cannot
  be escaped by minting ids faster than that.

Each limit is a token bucket: it refills at the given rate and holds up to 10 seconds' worth (so a short
burst passes, a sustained flood does not). A request over a limit raises
:class:`backend.errors.RateLimitedError` with the seconds until the bucket has room again (``Retry-After``)
and changes nothing; the REST API answers it with 429 and a ``Retry-After`` header. A retried answer that
was stored already is still acknowledged as a duplicate when its annotator is over the limit
(:mod:`backend.store.answers`), so a limit never loses an answer.

**Per process.** The buckets live in the memory of each app process (one :class:`RateLimits` per open
database), never in the database: N replicas behind a load balancer allow N times each limit. Every table
here is bounded (:class:`BoundedCache`, least recently used entries dropped first), so a flood of new ids
costs a bounded amount of memory; a dropped bucket is simply full again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from backend import settings
from backend.errors import RateLimitedError

BURST_SECONDS = 10.0  # a bucket holds this many seconds' worth of its rate
BUCKETS = 100_000  # buckets kept per process (LRU); ~100 bytes each
ANNOTATOR_CACHE = 50_000  # annotator key -> row id entries kept per process (LRU)
SERVES_PER_ANSWER = 2  # pairs/items served per answer allowed


class BoundedCache:
    """A thread-safe mapping that keeps at most ``size`` entries, dropping the least recently used."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._data:
                return default
            self._data.move_to_end(key)
            return self._data[key]

    def __setitem__(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RateLimits:
    """Token buckets keyed by (what, who), for one database in one process."""

    def __init__(self, size: int = BUCKETS):
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key -> (tokens, time)
        self._size = size
        self._lock = threading.Lock()

    def take(self, key: Hashable, per_minute: int | None, what: str) -> None:
        """Take one token from bucket ``key`` (refilling at ``per_minute``); RateLimitedError when empty."""
        if per_minute is None:
            return
        rate = per_minute / 60.0
        capacity = max(1.0, rate * BURST_SECONDS)
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.pop(key, (capacity, now))
            tokens = min(capacity, tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                self._trim()
                wait = math.ceil((1.0 - tokens) / rate)
                raise RateLimitedError(f"Too many {what} in a short time (at most {per_minute} a minute); wait "
                                       f"{wait} s and send the same request again.", wait)
            self._buckets[key] = (tokens - 1.0, now)
            self._trim()

    def _trim(self) -> None:
        while len(self._buckets) > self._size:
            self._buckets.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


def check_answer(limits: RateLimits, campaign_id: int, annotator_key: str) -> None:
    """One answer of ``annotator_key`` in campaign ``campaign_id``: the annotator's and the campaign's limits."""
    current = settings.current()
    limits.take(("answer", annotator_key), current.annotator_answers_per_minute, "answers from this annotator")
    limits.take(("campaign-answer", campaign_id), current.campaign_answers_per_minute,
                "answers in this campaign from all annotators")


def check_serve(limits: RateLimits, campaign_id: int, annotator_key: str) -> None:
    """One pair/item served: twice the answer limits."""
    current = settings.current()
    limits.take(("serve", annotator_key), _times(current.annotator_answers_per_minute, SERVES_PER_ANSWER),
                "pairs or images requested by this annotator")
    limits.take(("campaign-serve", campaign_id), _times(current.campaign_answers_per_minute, SERVES_PER_ANSWER),
                "pairs or images requested in this campaign by all annotators")


def check_new_identity(limits: RateLimits) -> None:
    """One new annotator id issued by this process."""
    limits.take(("new-identity",), settings.current().new_annotators_per_minute,
                "new annotator ids requested from this server")


def _times(value: int | None, factor: int) -> int | None:
    return None if value is None else value * factor
