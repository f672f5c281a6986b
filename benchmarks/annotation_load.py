"""Annotation portal under load: votes/s and vote latency through the HTTP API, 32 concurrent clients.

For each engine (SQLite file in WAL mode with the app's settings — ``synchronous=FULL`` — and, as
``sqlite-normal``, with ``synchronous=NORMAL``; PostgreSQL in a schema of its own):

1. **Ceiling — plain insert rate** of the same database: 32 threads insert vote rows into the same
   ``comparisons`` table (same indexes and UNIQUE constraints), one row per transaction with a commit
   each, straight through SQLAlchemy Core — what the database can do for one acknowledged vote each,
   without HTTP, Gradio, validation or token checks.
2. **The app**: the real ``python app.py`` (a separate process) on that database. 32 asynchronous HTTP
   clients (one keep-alive connection each, in this process) first fetch their pairs, then all vote at
   once; every 10th vote is sent a second time (a retry), which must be acknowledged as ``duplicate``.
   Every client first gets an annotator id from the server (``POST /annotate/v1/annotators``, or the Gradio
   endpoint ``/new_annotator``), as real clients must. The app runs with the rate limits of
   ``backend/store/limits.py`` raised (``--rate-limits``, default ``none``): one client here sends ~40 votes a
   second, far above the 60 a minute allowed to one person.
   Modes (``--modes``):
   - ``rest``: the plain JSON routes of ``ui/rest.py`` (``GET /annotate/v1/campaigns/<name>/next_pair``,
     ``POST /annotate/v1/vote``), served by the same server process and port as the Gradio app;
   - ``direct``: the Gradio endpoints outside Gradio's queue (the app's default for the API endpoints,
     ``POST /gradio_api/run/<name>``), each client keeping one session hash as a page or gradio_client does;
   - ``queued``: the Gradio endpoints through the queue (``HARMONYLAB_ANNOTATE_QUEUE=1``, called the
     documented way: ``POST /gradio_api/call/<name>``, then the server-sent events of ``GET .../<event
     id>``) with ``--concurrency`` as their concurrency limit.
3. **Check**: every acknowledged vote is in the database exactly once; no other rows appeared.
4. **Context — the HTTP floor**: the same clients against a minimal Gradio app whose ``/vote`` (same five
   text inputs, JSON output, outside the queue) does nothing: what Gradio itself serves on this machine.

5. **Replicas** (``--modes replicas``, PostgreSQL): two app processes on one schema, each with its own data
   directory (the database media store); the same ``rest`` load through one of them, then split between both
   (client ``i`` on replica ``i % 2``), in turn, ``--repeat`` times: votes/s and p99 of two processes against
   one. On the 2-core machine the two apps, PostgreSQL and the load generator share the same two cores.
6. **Images** (``--modes images``): the image route ``GET /annotate/v1/images/<sha256>.png`` under 32 clients
   (``--image-requests`` each, random images of a campaign of ``--image-count`` noise PNGs of
   ``--image-side`` pixels, ~256 KB each, no cache headers so every response carries the bytes), served from
   the folder store and from the database store (PostgreSQL; SQLite too), in turn: images/s and p99.
   Target (issue #21): the database store's p99 within 2x the folder store's.

Also recorded: CPU per vote of the app process and of the load generator during the vote phase, and the
load average around every run (the development machine has 2 cores shared with other jobs, and the load
generator runs on them too). The default load generator client (``--client lean``) is a minimal
HTTP/1.1 keep-alive client on asyncio streams (~0.2 ms of CPU per request against ~1.7 ms for httpx),
used for ``rest``, ``direct`` and the floor; ``queued`` needs server-sent events and uses httpx.

Targets (issue 3; a benchmark, not a test): app votes/s at least 25 % of the plain insert rate, p99 of
the vote call at most 250 ms, zero lost or duplicated votes.

Run: ``python -m benchmarks.annotation_load [--engines sqlite,sqlite-normal,postgresql]
[--modes rest,direct,queued] [--clients 32] [--votes 40] [--concurrency 8|none] [--client lean|httpx]
[--repeat 2]``; writes ``benchmarks/results/annotation_load.json`` (``summary``: every run's figures
side by side per mode and engine; ``runs``: full results with the load average and ``uptime`` of each;
``replicas`` and ``images``: those rows). ``--modes replicas,images`` alone measures only them and keeps
the file's other figures.
PostgreSQL: ``HARMONYLAB_TEST_POSTGRES_URL`` or ``--postgres-url`` (default the local server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import write_results

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CAMPAIGN = "load"
RATE_LIMITS = ("HARMONYLAB_ANNOTATOR_ANSWERS_PER_MINUTE", "HARMONYLAB_CAMPAIGN_ANSWERS_PER_MINUTE",
               "HARMONYLAB_NEW_ANNOTATORS_PER_MINUTE")


def make_campaign_files(folder: Path) -> Path:
    """3 groups x 4 methods of small scikit-image crops (colour shifts as methods)."""
    from tests.store.conftest import METHODS, PHOTOS, sample_photo, shifted, write_photo

    rows = ["path,group,method"]
    for photo in PHOTOS:
        reference = sample_photo(photo)[:128:2, :128:2].copy()
        for method, shift in METHODS.items():
            write_photo(folder / photo / f"{method}.png", shifted(reference, shift))
            rows.append(f"{photo}/{method}.png,{photo},{method}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder / "manifest.csv"


# ----------------------------------------------------------------------------------------- ceiling


def plain_insert_rate(db, campaign, threads: int, rows_per_thread: int) -> float:
    """Single-row insert transactions per second into ``comparisons`` from ``threads`` threads."""
    from sqlalchemy import insert

    from backend.store.annotators import annotator_row_id
    from backend.store.models import Comparison, utc_now

    annotator = annotator_row_id(db, "plain-insert", "anonymous")
    a, b = campaign.groups[next(iter(campaign.groups))][:2]
    statement = insert(Comparison)
    barrier = threading.Barrier(threads + 1)

    def work(index: int) -> None:
        barrier.wait()
        for step in range(rows_per_thread):
            with db.write_connection() as connection:
                connection.execute(statement, {
                    "campaign_id": campaign.id, "annotator_id": annotator, "item_a_id": a, "item_b_id": b,
                    "left_item_id": a, "choice": "left", "winner_item_id": a, "gold_id": None, "response_ms": 0,
                    "served_nonce": uuid.uuid4().hex[:16], "client_id": f"plain-{index}-{step}",
                    "created_at": utc_now()})

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return threads * rows_per_thread / (time.perf_counter() - start)


# ------------------------------------------------------------------------------------- HTTP client


class LeanResponse:
    def __init__(self, status_code: int, content: bytes):
        self.status_code, self.content = status_code, content

    def json(self):
        return json.loads(self.content)


class LeanClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (JSON requests, Content-Length responses).

    The load generator runs on the same 2 cores as the app; httpx costs ~1.7 ms of CPU per request there
    (as much as the app's own work), this ~0.2 ms, so more of the machine goes to the server under test.
    Same subset of the httpx API as the benchmark uses (``get``, ``post``, ``aclose``); not for streams.
    """

    def __init__(self, base_url: str, timeout: float = 120):
        parsed = httpx.URL(base_url)
        self.host, self.port, self.timeout = parsed.host, parsed.port, timeout
        self.prefix = parsed.path.rstrip("/") + "/"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _send(self, method: str, path: str, body: bytes | None) -> LeanResponse:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {self.prefix}{path.lstrip('/')} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        header = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), self.timeout)
        lines = header.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" not in fields:
            raise RuntimeError(f"LeanClient needs Content-Length responses; got {fields}")
        content = await self.reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            await self.aclose()
        return LeanResponse(status, content)

    async def get(self, path: str, params: dict | None = None) -> LeanResponse:
        query = ("?" + str(httpx.QueryParams(params))) if params else ""
        return await self._send("GET", path + query, None)

    async def post(self, path: str, json: object) -> LeanResponse:  # noqa: A002 (httpx's keyword)
        return await self._send("POST", path, _dumps(json))

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = self.reader = None


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def make_client(url: str, lean: bool):
    return LeanClient(url) if lean else httpx.AsyncClient(base_url=url, timeout=120)


async def call(client: httpx.AsyncClient, api: str, data: list, queued: bool = True, session: str | None = None) -> list:
    """One API call the documented HTTP way; returns the outputs or raises with the app's error.

    ``session`` is the client's session hash, kept for all its calls (as a browser page or gradio_client
    does); without one, Gradio builds a fresh session state for every call.
    """
    request = {"data": data, "session_hash": session}
    if not queued:
        body = (await client.post(f"gradio_api/run/{api}", json=request)).json()
        if "error" in body and body.get("data") is None:
            raise RuntimeError(body["error"])
        return body["data"]
    event_id = (await client.post(f"gradio_api/call/{api}", json=request)).json()["event_id"]
    async with client.stream("GET", f"gradio_api/call/{api}/{event_id}") as stream:
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line[5:]) if line[5:].strip() not in ("", "null") else None
                if event == "error":
                    raise RuntimeError(payload)
                return payload
    raise RuntimeError(f"/{api} ended without a result")


async def rest_call(client: httpx.AsyncClient, api: str, data: list) -> list:
    """The same call through the plain JSON routes of ``ui/rest.py`` (``/annotate/v1/...``)."""
    if api == "new_annotator":
        response = await client.post("annotate/v1/annotators", json={})
        if response.status_code != 201:
            raise RuntimeError(response.json())
        return [response.json()["annotator_id"]]
    if api == "next_pair":
        response = await client.get(f"annotate/v1/campaigns/{data[0]}/next_pair", params={"annotator_id": data[1]})
        body = response.json()
        if response.status_code != 200:
            raise RuntimeError(body)
        return [body["pair_id"], body["left_image"], body["right_image"], body["progress"]]
    fields = ("campaign", "annotator_id", "pair_id", "choice", "client_vote_id")
    response = await client.post("annotate/v1/vote", json=dict(zip(fields, data, strict=True)))
    body = response.json()
    if response.status_code != 200:
        raise RuntimeError(body)
    return [body]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds used so far by process ``pid`` (default: this one), all threads."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def wait_until_idle(pid: int, busy_fraction: float = 0.25, window: float = 1.0, quiet_windows: int = 2,
                    timeout: float = 180.0) -> float:
    """Wait until process ``pid`` used under ``busy_fraction`` of a core in ``quiet_windows`` consecutive
    windows of ``window`` seconds; return the wait.

    ``app.py`` imports the scoring libraries (pyiqa, torch) in a background thread right after it starts
    serving (~100 % of a core for a few seconds; the idle app then uses ~7 %); measured during that import,
    the app shares its GIL and cores with it.
    """
    start, quiet = time.monotonic(), 0
    while time.monotonic() - start < timeout and quiet < quiet_windows:
        before = cpu_seconds(pid)
        time.sleep(window)
        quiet = quiet + 1 if cpu_seconds(pid) - before < busy_fraction * window else 0
    return time.monotonic() - start


async def load(url: str | list[str], clients: int, votes: int, mode: str, app_pid: int | list[int] | None = None,
               lean: bool = True) -> dict:
    """Phase 1: every client fetches ``votes`` pairs; phase 2: every client votes on them (10 % resent).

    ``mode``: ``direct`` (Gradio endpoints outside the queue), ``queued`` (through the queue) or ``rest``
    (the plain JSON routes). Several ``url`` (replicas of one database): client ``i`` uses ``url[i % n]``, and
    ``app_pid`` lists their processes (CPU is summed).
    """
    urls = [url] if isinstance(url, str) else list(url)
    pids = [app_pid] if isinstance(app_pid, int) else list(app_pid or [])
    queued = mode == "queued"

    async def api(index: int, name: str, data: list) -> list:
        if mode == "rest":
            return await rest_call(connections[index], name, data)
        return await call(connections[index], name, data, queued, sessions[index])

    run = uuid.uuid4().hex[:6]
    connections = [make_client(urls[i % len(urls)], lean and not queued)  # the queue's SSE needs httpx
                   for i in range(clients)]
    sessions = [uuid.uuid4().hex for _ in range(clients)]
    pairs: list[list[str]] = [[] for _ in range(clients)]
    serve_latency: list[float] = []
    vote_latency: list[float] = []
    acks: list[dict] = []

    annotators = [""] * clients

    async def fetch(index: int) -> None:
        annotators[index] = (await api(index, "new_annotator", []))[0]
        for _ in range(votes):
            start = time.perf_counter()
            pairs[index].append((await api(index, "next_pair", [CAMPAIGN, annotators[index]]))[0])
            serve_latency.append(time.perf_counter() - start)

    async def vote(index: int) -> None:
        for step, pair_id in enumerate(pairs[index]):
            vote_id = f"load-{run}-{index}-{step}"
            for _ in range(2 if step % 10 == 0 else 1):  # every 10th vote is retried
                start = time.perf_counter()
                ack = (await api(index, "vote", [CAMPAIGN, annotators[index], pair_id, ("left", "right")[step % 2],
                                                 vote_id]))[0]
                vote_latency.append(time.perf_counter() - start)
                acks.append(ack)

    start = time.perf_counter()
    await asyncio.gather(*(fetch(i) for i in range(clients)))
    serve_seconds = time.perf_counter() - start
    cpu_before = (sum(cpu_seconds(pid) for pid in pids), cpu_seconds())
    start = time.perf_counter()
    await asyncio.gather(*(vote(i) for i in range(clients)))
    vote_seconds = time.perf_counter() - start
    app_cpu = (sum(cpu_seconds(pid) for pid in pids) - cpu_before[0]) if pids else float("nan")
    client_cpu = cpu_seconds() - cpu_before[1]
    for connection in connections:
        await connection.aclose()
    ms = lambda values, q: float(np.percentile(values, q) * 1000)  # noqa: E731
    return {
        "next_pair_per_s": len(serve_latency) / serve_seconds, "next_pair_p50_ms": ms(serve_latency, 50),
        "next_pair_p99_ms": ms(serve_latency, 99),
        "vote_calls": len(vote_latency), "votes_per_s": len(vote_latency) / vote_seconds,
        "vote_p50_ms": ms(vote_latency, 50), "vote_p99_ms": ms(vote_latency, 99),
        # CPU per /vote call during the vote phase: the app process (all threads) and this load generator
        "app_cpu_ms_per_vote": 1000 * app_cpu / len(vote_latency),
        "client_cpu_ms_per_vote": 1000 * client_cpu / len(vote_latency), "acks": acks,
    }


def check(db, campaign, acks: list[dict]) -> dict:
    """Acknowledged votes against the rows of the campaign (after the warm-up's): lost, duplicated, unexpected."""
    from sqlalchemy import select

    from backend.store.models import Comparison

    stored_acks = {a["client_id"] for a in acks if a["status"] == "stored"}
    prefix = next(iter(stored_acks)).rsplit("-", 2)[0]  # load-<run>
    duplicate_acks = sum(a["status"] == "duplicate" for a in acks)
    with db.read_connection() as connection:
        rows = connection.execute(select(Comparison.client_id).where(Comparison.campaign_id == campaign.id,
                                                                      Comparison.client_id.like(f"{prefix}-%"))).scalars().all()
    return {"acknowledged_votes": len(stored_acks), "duplicate_acks": duplicate_acks, "rows": len(rows),
            "lost": len(stored_acks - set(rows)), "duplicated": len(rows) - len(set(rows)),
            "unexpected": len(set(rows) - stored_acks)}


# ------------------------------------------------------------------------------------------- floor

FLOOR_APP = """
import os, gradio as gr
def vote(campaign: str, annotator_id: str, pair_id: str, choice: str, client_vote_id: str):
    return {"status": "stored", "client_id": client_vote_id}
with gr.Blocks() as demo:
    boxes = [gr.Textbox(visible=False) for _ in range(5)]
    gr.on([], vote, boxes, gr.JSON(visible=False), api_name="vote", queue=False)
demo.queue().launch(server_name="127.0.0.1", server_port=int(os.environ["PORT"]))
"""


async def hammer(url: str, clients: int, calls: int, lean: bool = True) -> dict:
    """``clients`` x ``calls`` calls of ``/vote`` (unqueued), one session each; rate and latency."""
    connections = [make_client(url, lean) for _ in range(clients)]
    latency: list[float] = []

    async def run(index: int) -> None:
        for step in range(calls):
            start = time.perf_counter()
            await call(connections[index], "vote", [CAMPAIGN, f"c{index}", "p", "left", f"{index}-{step}"], False,
                       f"floor-{index}")
            latency.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(clients)))
    seconds = time.perf_counter() - start
    for connection in connections:
        await connection.aclose()
    return {"calls_per_s": len(latency) / seconds, "p50_ms": float(np.percentile(latency, 50) * 1000),
            "p99_ms": float(np.percentile(latency, 99) * 1000)}


def gradio_floor(folder: Path, clients: int, calls: int, lean: bool = True) -> dict:
    """The do-nothing endpoint of ``FLOOR_APP`` under the benchmark's load."""
    import subprocess
    import sys
    import urllib.request

    from tests.conftest import free_port

    script = folder / "floor_app.py"
    script.write_text(FLOOR_APP)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + "config", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        asyncio.run(hammer(url, 2, 5, lean))
        return asyncio.run(hammer(url, clients, calls, lean))
    finally:
        process.terminate()
        process.wait(timeout=30)


# ------------------------------------------------------------------------------ replicas and images


def _wait_all_idle(apps) -> float:
    return sum(wait_until_idle(app.process.pid) for app in apps)


def measure_replicas(args) -> dict:
    """Votes through one app process, then through two (replicas) on the same PostgreSQL schema with the same
    32 clients split between them (each client stays on one replica), ``args.repeat`` times in turn."""
    from backend.store.campaigns import CampaignSettings, create_campaign
    from backend.store.db import Database
    from tests.conftest import LiveApp
    from tests.store.conftest import postgres_schema

    runs: dict[str, list[dict]] = {"one_process": [], "two_processes": []}
    with tempfile.TemporaryDirectory(prefix="harmonylab-replicas-") as scratch, \
            postgres_schema(args.postgres_url) as url:
        folder = Path(scratch)
        db = Database(url, folder / "creator")
        campaign = create_campaign(CAMPAIGN, make_campaign_files(folder / "campaign"), CampaignSettings("pairwise"),
                                   db=db)
        env = {"HARMONYLAB_DATABASE_URL": url, "HARMONYLAB_ANNOTATE_CONCURRENCY": args.concurrency,
               **{name: args.rate_limits for name in RATE_LIMITS}}
        apps = []
        try:
            for k in range(2):
                (folder / f"replica-{k}").mkdir()
                apps.append(LiveApp(folder / f"replica-{k}", extra_env=env).start())
            for app in apps:
                asyncio.run(load(app.url, 2, 2, "rest"))  # warm-up
            for repeat in range(args.repeat):
                for label, chosen in (("one_process", apps[:1]), ("two_processes", apps)):
                    _wait_all_idle(apps)
                    load_before = os.getloadavg()
                    measured = asyncio.run(load([a.url for a in chosen], args.clients, args.votes, "rest",
                                                [a.process.pid for a in chosen]))
                    verdict = check(db, campaign, measured.pop("acks"))
                    runs[label].append({**measured, **verdict, "load_average_before": load_before})
                    print(f"[replicas {repeat + 1}] {label}: {measured['votes_per_s']:.0f} votes/s (p50 "
                          f"{measured['vote_p50_ms']:.0f} ms, p99 {measured['vote_p99_ms']:.0f} ms); CPU per vote: "
                          f"apps {measured['app_cpu_ms_per_vote']:.2f} ms, load generator "
                          f"{measured['client_cpu_ms_per_vote']:.2f} ms; lost {verdict['lost']}, duplicated "
                          f"{verdict['duplicated']}", flush=True)
        finally:
            for app in apps:
                app.stop()
            db.dispose()
    keys = ("votes_per_s", "vote_p50_ms", "vote_p99_ms", "app_cpu_ms_per_vote", "client_cpu_ms_per_vote")
    summary = {label: {key: [round(r[key], 3) for r in each] for key in keys} for label, each in runs.items()}
    for label, each in runs.items():
        summary[label]["lost_duplicated_unexpected"] = [r["lost"] + r["duplicated"] + r["unexpected"] for r in each]
    summary["votes_per_s_ratio_two_to_one"] = [round(two["votes_per_s"] / one["votes_per_s"], 3)
                                               for one, two in zip(runs["one_process"], runs["two_processes"],
                                                                   strict=True)]
    summary["p99_ratio_two_to_one"] = [round(two["vote_p99_ms"] / one["vote_p99_ms"], 3)
                                       for one, two in zip(runs["one_process"], runs["two_processes"], strict=True)]
    return {"summary": summary, "runs": runs}


def make_image_campaign(folder: Path, count: int, side: int) -> Path:
    """``count`` images of random noise, ``side`` x ``side`` (PNG cannot compress noise: 296 px is ~256 KB)."""
    from tests.store.conftest import write_photo

    rng = np.random.default_rng(0)
    rows = ["path,group,method"]
    for k in range(count):
        write_photo(folder / f"{k}.png", rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
        rows.append(f"{k}.png,group-{k // 4},method-{k % 4}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return folder / "manifest.csv"


async def fetch_images(url: str, hashes: list[str], clients: int, requests: int, app_pid: int | None = None) -> dict:
    """``clients`` clients each GET ``requests`` random images (no cache headers: every response has the bytes)."""
    import hashlib

    latency: list[float] = []
    sizes: list[int] = []
    connections = [LeanClient(url) for _ in range(clients)]

    async def run(index: int) -> None:
        rng = np.random.default_rng(index)
        for step in range(requests):
            sha256 = hashes[int(rng.integers(len(hashes)))]
            start = time.perf_counter()
            response = await connections[index].get(f"annotate/v1/images/{sha256}.png")
            latency.append(time.perf_counter() - start)
            if response.status_code != 200 or (step == 0 and hashlib.sha256(response.content).hexdigest() != sha256):
                raise RuntimeError(f"image {sha256[:12]}: status {response.status_code}")
            sizes.append(len(response.content))

    cpu_before = cpu_seconds(app_pid) if app_pid else 0.0
    start = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(clients)))
    seconds = time.perf_counter() - start
    app_cpu = (cpu_seconds(app_pid) - cpu_before) if app_pid else float("nan")
    for connection in connections:
        await connection.aclose()
    return {"images_per_s": len(latency) / seconds, "mb_per_s": sum(sizes) / seconds / 1e6,
            "p50_ms": float(np.percentile(latency, 50) * 1000), "p99_ms": float(np.percentile(latency, 99) * 1000),
            "mean_image_kb": float(np.mean(sizes) / 1024), "requests": len(latency),
            "app_cpu_ms_per_image": 1000 * app_cpu / len(latency)}


IMAGE_STORES = (("folder", "postgresql"), ("database", "postgresql"), ("database", "sqlite"))


def measure_images(args) -> dict:
    """Images served by the image route from each store (``IMAGE_STORES``), ``args.repeat`` times in turn."""
    from backend.store.campaigns import CampaignSettings, create_campaign
    from backend.store.db import Database
    from tests.conftest import LiveApp
    from tests.store.conftest import postgres_schema

    runs: dict[str, list[dict]] = {f"{store} ({engine})": [] for store, engine in IMAGE_STORES}
    with tempfile.TemporaryDirectory(prefix="harmonylab-images-") as scratch, contextlib.ExitStack() as stack:
        folder = Path(scratch)
        manifest = make_image_campaign(folder / "campaign", args.image_count, args.image_side)
        apps = {}
        for store, engine in IMAGE_STORES:
            label = f"{store} ({engine})"
            url = (stack.enter_context(postgres_schema(args.postgres_url)) if engine == "postgresql"
                   else f"sqlite:///{folder / 'sqlite' / 'images.db'}")
            data = folder / f"data-{store}-{engine}"
            data.mkdir()
            db = Database(url, data, media=store)
            info = create_campaign(CAMPAIGN, manifest, CampaignSettings("pairwise"), db=db)
            hashes = sorted({item.sha256 for item in info.items.values()})
            db.dispose()
            apps[label] = (LiveApp(data, extra_env={"HARMONYLAB_DATABASE_URL": url, "HARMONYLAB_MEDIA": store}), hashes)
        for app, _ in apps.values():
            stack.callback(app.stop)
            app.start()
        for app, hashes in apps.values():
            asyncio.run(fetch_images(app.url, hashes, 2, len(hashes)))  # warm-up
        for repeat in range(args.repeat):
            for label, (app, hashes) in apps.items():
                _wait_all_idle([a for a, _ in apps.values()])
                r = asyncio.run(fetch_images(app.url, hashes, args.clients, args.image_requests, app.process.pid))
                r["load_average_before"] = os.getloadavg()
                runs[label].append(r)
                print(f"[images {repeat + 1}] {label}: {r['images_per_s']:.0f} images/s ({r['mb_per_s']:.0f} MB/s; "
                      f"{r['mean_image_kb']:.0f} KB each), p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, app "
                      f"CPU {r['app_cpu_ms_per_image']:.2f} ms per image", flush=True)
    summary = {label: {key: [round(r[key], 3) for r in each] for key in
                       ("images_per_s", "mb_per_s", "p50_ms", "p99_ms", "app_cpu_ms_per_image", "mean_image_kb")}
               for label, each in runs.items()}
    folder_runs = runs["folder (postgresql)"]
    for label, each in runs.items():
        if label.startswith("database"):
            summary[label]["p99_ratio_to_folder"] = [round(d["p99_ms"] / f["p99_ms"], 3)
                                                     for d, f in zip(each, folder_runs, strict=True)]
            summary[label]["p99_within_2x_of_folder"] = all(r <= 2 for r in summary[label]["p99_ratio_to_folder"])
    return {"summary": summary, "runs": runs}


# ------------------------------------------------------------------------------------------ driver


def run_engine(engine: str, url: str, folder: Path, args, mode: str) -> dict:
    from backend.store.campaigns import CampaignSettings, create_campaign
    from backend.store.db import Database
    from tests.conftest import LiveApp

    data = folder / f"data-{engine}"
    db = Database(url, data)
    campaign = create_campaign(CAMPAIGN, make_campaign_files(folder / f"campaign-{engine}"),
                               CampaignSettings("pairwise"), db=db)
    ceiling = plain_insert_rate(db, campaign, args.clients, args.plain_rows)
    env = {"HARMONYLAB_ANNOTATE_CONCURRENCY": args.concurrency,
           "HARMONYLAB_ANNOTATE_QUEUE": "1" if mode == "queued" else "0",
           "HARMONYLAB_DATABASE_URL": url, **{name: args.rate_limits for name in RATE_LIMITS}}
    app = LiveApp(data, extra_env=env).start()
    try:
        lean = args.client == "lean"
        asyncio.run(load(app.url, 2, 2, mode, lean=lean))  # warm-up (first requests, imports)
        idle_wait = wait_until_idle(app.process.pid)
        measured = asyncio.run(load(app.url, args.clients, args.votes, mode, app.process.pid, lean))
    finally:
        app.stop()
    verdict = check(db, campaign, measured.pop("acks"))
    db.dispose()
    result = {"plain_inserts_per_s": ceiling, **measured, **verdict, "waited_for_idle_app_s": round(idle_wait, 1)}
    result["fraction_of_plain_insert_rate"] = result["votes_per_s"] / ceiling
    result["targets_met"] = {
        "at_least_25_percent_of_plain_insert_rate": result["fraction_of_plain_insert_rate"] >= 0.25,
        "p99_at_most_250_ms": result["vote_p99_ms"] <= 250,
        "zero_lost_or_duplicated": verdict["lost"] == verdict["duplicated"] == verdict["unexpected"] == 0,
    }
    return result


def uptime() -> str:
    import subprocess

    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def measure(engine: str, mode: str, args) -> dict:
    """One engine in one mode, in a fresh scratch folder (and a fresh PostgreSQL schema)."""
    from tests.store.conftest import postgres_schema

    with tempfile.TemporaryDirectory(prefix="harmonylab-load-") as scratch:
        if engine.startswith("sqlite"):
            synchronous = "NORMAL" if engine == "sqlite-normal" else "FULL"
            os.environ["HARMONYLAB_SQLITE_SYNCHRONOUS"] = synchronous  # this process and the app
            r = run_engine(engine, f"sqlite:///{scratch}/load.db", Path(scratch), args, mode)
            r["sqlite_synchronous"] = synchronous
            return r
        with postgres_schema(args.postgres_url) as url:
            return run_engine(engine, url, Path(scratch), args, mode)


def summary_line(mode: str, engine: str, r: dict) -> str:
    return (f"{mode} {engine}: {r['votes_per_s']:.0f} votes/s (p50 {r['vote_p50_ms']:.0f} ms, p99 "
            f"{r['vote_p99_ms']:.0f} ms) = {100 * r['fraction_of_plain_insert_rate']:.1f} % of the plain insert "
            f"rate {r['plain_inserts_per_s']:.0f}/s; /next_pair {r['next_pair_per_s']:.0f}/s (p99 "
            f"{r['next_pair_p99_ms']:.0f} ms); lost {r['lost']}, duplicated {r['duplicated']}, unexpected "
            f"{r['unexpected']} of {r['acknowledged_votes']} acknowledged (+{r['duplicate_acks']} retries "
            f"acknowledged as duplicates); CPU per vote: app {r['app_cpu_ms_per_vote']:.2f} ms, load generator "
            f"{r['client_cpu_ms_per_vote']:.2f} ms")


def summarize(runs: list[dict]) -> dict:
    """Per mode and engine: the figures of every run side by side, and whether every run met every target."""
    summary: dict[str, dict] = {}
    for mode, engines in runs[0]["results"].items():
        summary[mode] = {}
        for engine in engines:
            each = [run["results"][mode][engine] for run in runs]
            summary[mode][engine] = {
                key: [round(r[key], 3) for r in each]
                for key in ("votes_per_s", "vote_p50_ms", "vote_p99_ms", "plain_inserts_per_s",
                            "fraction_of_plain_insert_rate", "app_cpu_ms_per_vote", "client_cpu_ms_per_vote")}
            summary[mode][engine]["lost_duplicated_unexpected"] = [r["lost"] + r["duplicated"] + r["unexpected"]
                                                                   for r in each]
            summary[mode][engine]["all_targets_met_in_every_run"] = all(all(r["targets_met"].values()) for r in each)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="sqlite,sqlite-normal,postgresql")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--votes", type=int, default=40, help="votes per client")
    parser.add_argument("--plain-rows", type=int, default=200, help="rows per thread for the ceiling")
    parser.add_argument("--modes", default="rest,direct,queued",
                        help="rest (the JSON routes), direct (Gradio endpoints, unqueued) and/or queued; replicas "
                             "(one vs two app processes on PostgreSQL, rest) and images (the image route per "
                             "media store) are measured only when named")
    parser.add_argument("--image-count", type=int, default=32, help="images of the image-serving campaign")
    parser.add_argument("--image-side", type=int, default=296, help="side of its noise images (296: ~256 KB)")
    parser.add_argument("--image-requests", type=int, default=64, help="image requests per client")
    parser.add_argument("--concurrency", default="8", help="concurrency limit of the queued endpoints (or none)")
    parser.add_argument("--postgres-url", default=os.environ.get("HARMONYLAB_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    parser.add_argument("--client", choices=("lean", "httpx"), default="lean",
                        help="load generator's HTTP client for rest, direct and the floor (queued always uses httpx)")
    parser.add_argument("--repeat", type=int, default=1, help="measure every mode and engine this many times")
    parser.add_argument("--rate-limits", default="none",
                        help="value of the app's three rate-limit settings (per minute, or none)")
    parser.add_argument("--no-write", action="store_true", help="print only (no results file)")
    args = parser.parse_args()
    modes = args.modes.split(",")
    extras = {}
    if "replicas" in modes:
        extras["replicas"] = {"uptime_before": uptime(), **measure_replicas(args)}
    if "images" in modes:
        extras["images"] = {"uptime_before": uptime(), **measure_images(args), "image_requests_per_client":
                            args.image_requests, "images": args.image_count, "side": args.image_side}
    main_modes = [mode for mode in modes if mode not in ("replicas", "images")]
    if not main_modes:
        for name, extra in extras.items():
            print(f"{name}: {json.dumps(extra['summary'])}")
        if not args.no_write:
            update_results("annotation_load", extras)
        return
    runs = []
    for repeat in range(args.repeat):
        run = {"load_average_before": os.getloadavg(), "uptime_before": uptime(), "results": {}}
        for mode in main_modes:
            run["results"][mode] = {}
            for engine in args.engines.split(","):
                r = measure(engine, mode, args)
                run["results"][mode][engine] = r
                print(f"[run {repeat + 1}] {summary_line(mode, engine, r)}", flush=True)
        run["load_average_after"] = os.getloadavg()
        runs.append(run)
    with tempfile.TemporaryDirectory(prefix="harmonylab-floor-") as scratch:
        floor = gradio_floor(Path(scratch), args.clients, args.votes, args.client == "lean")
    print(f"gradio floor (do-nothing /vote, same clients): {floor['calls_per_s']:.0f} calls/s "
          f"(p50 {floor['p50_ms']:.0f} ms, p99 {floor['p99_ms']:.0f} ms)")
    settings = {"clients": args.clients, "votes_per_client": args.votes, "queued_concurrency_limit": args.concurrency,
                "rate_limits": args.rate_limits, "identity": "each client gets an annotator id from the server first",
                "retry_every": 10, "cpu_count": os.cpu_count(), "repeats": args.repeat,
                "load_generator_client": f"{args.client} (rest, direct, floor); httpx (queued: server-sent events)",
                # uvicorn (Gradio's server) parses HTTP with httptools and runs uvloop when they are importable
                "uvicorn_fast_paths": {name: importlib.util.find_spec(name) is not None for name in ("httptools", "uvloop")}}
    summary = summarize(runs)
    for mode, engines in summary.items():
        for engine, figures in engines.items():
            print(f"summary {mode} {engine}: votes/s {figures['votes_per_s']}, p99 ms {figures['vote_p99_ms']}, "
                  f"fraction {figures['fraction_of_plain_insert_rate']}, all targets met in every run: "
                  f"{figures['all_targets_met_in_every_run']}")
    if not args.no_write:
        write_results("annotation_load", {"settings": settings, "summary": summary, "runs": runs,
                                          "gradio_floor": floor, **extras})


def update_results(name: str, sections: dict) -> None:
    """Replace ``sections`` of an existing results file, keeping its other figures (a run of the extra rows only)."""
    from benchmarks.common import RESULTS_DIR

    path = RESULTS_DIR / f"{name}.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    measured = time.strftime("%Y-%m-%d %H:%M:%S")
    for section in sections.values():
        section["measured_at"] = measured
    existing.pop("machine", None)  # the same machine; "measured_at" stays that of the other figures
    write_results(name, {**existing, **sections})


if __name__ == "__main__":
    main()
