"""Rate limits (``backend/store/limits.py``): 429 with Retry-After, nothing stored lost, bounded tables, and
the 4xx statuses of the Gradio endpoints (``ui/gradio_http.py``).

The suite runs with the limits off (tests/conftest.py); these tests set them through ``settings_env``.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from backend.errors import RateLimitedError
from backend.store.limits import BoundedCache, RateLimits
from backend.store.models import Comparison
from tests.store.conftest import make_campaign

API = "/annotate/v1"


def new_id(client) -> str:
    response = client.post(f"{API}/annotators")
    assert response.status_code == 201, response.text
    return response.json()["annotator_id"]


def stored_ids(db) -> set[str]:
    with db.reading() as session:
        return set(session.exec(select(Comparison.client_id)).all())


def test_answers_over_the_limit_get_429_and_nothing_stored_is_lost(rest_client, campaign_files, settings_env):
    client, db = rest_client
    make_campaign(db, campaign_files)
    settings_env(HARMONYLAB_ANNOTATOR_ANSWERS_PER_MINUTE="60")  # 1 a second, bursts of 10
    annotator = new_id(client)
    pairs = [client.get(f"{API}/campaigns/study/next_pair", params={"annotator_id": annotator}).json()["pair_id"]
             for _ in range(14)]  # serving allows twice the answers: 20 in a burst
    acknowledged, refused = [], []
    for step, pair_id in enumerate(pairs):
        body = {"campaign": "study", "annotator_id": annotator, "pair_id": pair_id, "choice": "left",
                "client_vote_id": f"limited-{step}"}
        response = client.post(f"{API}/vote", json=body)
        if response.status_code == 200:
            acknowledged.append(body)
        else:
            assert response.status_code == 429, response.text
            assert 1 <= int(response.headers["retry-after"]) <= 2 and "wait" in response.json()["error"]
            refused.append(body)
    assert len(acknowledged) == 10 and len(refused) == 4
    assert stored_ids(db) == {body["client_vote_id"] for body in acknowledged}  # refused ones changed nothing
    # the retry of an answer already stored is acknowledged even over the limit: it is never lost
    again = client.post(f"{API}/vote", json=acknowledged[-1])
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    # after Retry-After, the refused answers are accepted, one a second
    for body in refused:
        response = client.post(f"{API}/vote", json=body)
        while response.status_code == 429:
            time.sleep(int(response.headers["retry-after"]))
            response = client.post(f"{API}/vote", json=body)
        assert response.status_code == 200 and response.json()["status"] == "stored"
    assert stored_ids(db) == {f"limited-{step}" for step in range(14)}
    # another annotator is not held back by this one's limit
    other = new_id(client)
    pair_id = client.get(f"{API}/campaigns/study/next_pair", params={"annotator_id": other}).json()["pair_id"]
    assert client.post(f"{API}/vote", json={"campaign": "study", "annotator_id": other, "pair_id": pair_id,
                                            "choice": "right", "client_vote_id": "other-1"}).status_code == 200


def test_campaign_limit_holds_whatever_the_number_of_ids(rest_client, campaign_files, settings_env):
    """Minting ids does not get around the campaign's limit (nor around the limit on new ids)."""
    client, db = rest_client
    make_campaign(db, campaign_files)
    settings_env(HARMONYLAB_CAMPAIGN_ANSWERS_PER_MINUTE="30")  # bursts of 5 answers, 10 servings
    statuses = []
    for step in range(8):
        annotator = new_id(client)
        served = client.get(f"{API}/campaigns/study/next_pair", params={"annotator_id": annotator})
        statuses.append(client.post(f"{API}/vote", json={
            "campaign": "study", "annotator_id": annotator, "pair_id": served.json()["pair_id"], "choice": "left",
            "client_vote_id": f"crowd-{step}"}).status_code)
    assert statuses == [200] * 5 + [429] * 3
    assert len(stored_ids(db)) == 5
    settings_env(HARMONYLAB_NEW_ANNOTATORS_PER_MINUTE="6")  # one new id now, then one every 10 s
    assert client.post(f"{API}/annotators").status_code == 201
    limited = client.post(f"{API}/annotators")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 9
    served = [client.get(f"{API}/campaigns/study/next_pair", params={"annotator_id": annotator}).status_code
              for _ in range(12)]
    assert 429 in served and served[0] == 200  # serving: twice the campaign's answers, 10 in a burst


def test_token_buckets_refill_and_tables_stay_bounded():
    limits = RateLimits(size=100)
    for _ in range(10):  # 60 a minute: a burst of 10, then one a second
        limits.take("a", 60, "answers")
    with pytest.raises(RateLimitedError, match="at most 60 a minute") as caught:
        limits.take("a", 60, "answers")
    assert caught.value.retry_after == 1
    limits.take("b", 60, "answers")  # another key has its own bucket
    limits.take("a", None, "answers")  # no limit
    for k in range(1000):  # a flood of keys keeps at most 100 buckets
        limits.take(f"flood-{k}", 60, "answers")
    assert len(limits._buckets) == 100
    cache = BoundedCache(3)
    for k in range(10):
        cache[k] = k
    assert len(cache) == 3 and cache.get(9) == 9 and cache.get(0) is None


def test_annotator_row_cache_is_bounded(db, campaign_files, monkeypatch):
    from backend.store import pairwise
    from backend.store.annotators import sign

    make_campaign(db, campaign_files)
    monkeypatch.setattr(db.annotator_ids, "size", 5)
    for k in range(20):
        annotator = sign(db, f"cached-{k}")
        pairwise.vote("study", annotator, pairwise.next_pair("study", annotator, db=db).pair_id, "left", f"c{k}", db=db)
    assert len(db.annotator_ids) == 5


# ------------------------------------------------------------------------ the Gradio endpoints' statuses


def run_guard(path: str, body: bytes, status: int = 500, payload: dict | None = None) -> tuple[int, dict, dict, bool]:
    """Send ``body`` through GradioGuard to a fake Gradio that answers ``status`` and ``payload`` (its event 7
    is ``/vote``)."""
    from ui.gradio_http import GradioGuard

    reached = []

    async def gradio(scope, receive, send):
        reached.append((await receive())["body"])
        data = json.dumps(payload or {"data": ["ok"]}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})

    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": []}
    guard = GradioGuard(gradio, api_names={7: "vote", 8: "score"})
    with ThreadPoolExecutor(1) as thread:  # its own event loop (Playwright's may run in this thread)
        thread.submit(asyncio.run, guard(scope, receive, send)).result()
    start, reply = sent[0], sent[-1]
    headers = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return start["status"], headers, json.loads(reply["body"]), bool(reached)


def test_gradio_guard_statuses_and_bounds():
    assert run_guard("/gradio_api/run/next_pair", json.dumps({"data": ["study", "anon-1.x"]}).encode(), 200)[0] == 200
    ok = json.dumps({"data": ["study", "anon-1.x", "p1.x", "left", "v1"]}).encode()
    limited = {"error": "Too many answers from this annotator in a short time (at most 60 a minute); wait 3 s and "
                        "send the same request again.", "title": "Too many requests", "duration": 10, "visible": True}
    status, headers, body, _ = run_guard("/gradio_api/run/vote", ok, 500, limited)
    assert status == 429 and headers["retry-after"] == "3" and body["error"].startswith("Too many")
    for title, expected in (("Not allowed", 403), ("Error", 400)):
        assert run_guard("/gradio_api/run/vote", ok, 500, {"error": "x.", "title": title})[0] == expected
    assert run_guard("/gradio_api/run/vote", ok, 500, {"error": "boom", "visible": True})[0] == 500  # a bug stays 500
    assert run_guard("/gradio_api/run/score", ok, 500, {"error": "x.", "title": "Error"})[0] == 500  # not guarded
    hostile = {
        b'{"data": [' + b"[" * 5000 + b"]" * 5000 + b"]}": "nests too deeply",
        b'{"data": ["study", ' + b"9" * 5000 + b"]}": "more than 18 digits",
        b'{"data": ["study", NaN]}': "NaN",
        b'{"data": ["study", 1e999]}': "too large",
        b'{"data": ["st\\u0000udy", "x"]}': "NUL",
        b'{"data": ["st\\ud800udy", "x"]}': "lone surrogate",
        b'{"data": "study"}': '"data" list',
        b"[1, 2]": '"data" list',
        b"\xff\xfe": '"data" list',
        b'{"data": [' + b'"x", ' * 20 + b'"x"]}': "takes 5 value(s): campaign, annotator_id, pair_id",
        b'{"data": ["' + b"x" * 70_000 + b'"]}': "64 KB",
    }
    for raw, message in hostile.items():
        status, _, body, reached = run_guard("/gradio_api/run/vote", raw, 200)
        assert 400 <= status < 500 and message in body["error"] and not reached, (raw[:40], body)
    assert run_guard("/gradio_api/call/vote", b'{"data": [NaN]}', 200)[0] == 400  # the queue's route too
    assert run_guard("/gradio_api/call/v2/vote", b'{"data": [NaN]}', 200)[0] == 400
    assert run_guard("/gradio_api/api/vote", b'{"data": [NaN]}', 200)[0] == 400  # Gradio's alias of /run
    # another route name choosing /vote by fn_index is guarded like /vote; other endpoints are left alone
    assert run_guard("/gradio_api/run/score", b'{"data": ["x"], "fn_index": 7}', 200)[0] == 400
    assert run_guard("/gradio_api/run/score", b'{"data": ["x"], "fn_index": 8}', 200)[0] == 200
    assert run_guard("/gradio_api/run/score", b'{"data": ["' + b"x" * 70_000 + b'"]}', 200)[0] == 200
    assert run_guard("/gradio_api/run/new_annotator", b'{"data": []}', 200)[0] == 200


def test_limits_are_settings_with_defaults():
    from backend import settings

    defaults = settings.parse({})
    assert (defaults.annotator_answers_per_minute, defaults.campaign_answers_per_minute,
            defaults.new_annotators_per_minute) == (60, 6000, 300)
    assert settings.parse({"HARMONYLAB_ANNOTATOR_ANSWERS_PER_MINUTE": "none"}).annotator_answers_per_minute is None
    with pytest.raises(settings.SettingsError, match="HARMONYLAB_CAMPAIGN_ANSWERS_PER_MINUTE"):
        settings.parse({"HARMONYLAB_CAMPAIGN_ANSWERS_PER_MINUTE": "-3"})


def test_gradio_guard_ends_a_client_disconnect_quietly(caplog):
    """A visitor leaving mid-upload makes Gradio's upload route raise ClientDisconnect; the guard ends the request
    with one log line instead of letting it reach the server as an "Exception in ASGI application"."""
    import logging

    from starlette.requests import ClientDisconnect

    from ui.gradio_http import GradioGuard

    async def gradio(scope, receive, send):
        raise ClientDisconnect()

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        raise AssertionError("nothing is sent to a client that left")

    scope = {"type": "http", "method": "POST", "path": "/gradio_api/upload", "headers": []}
    with caplog.at_level(logging.INFO, logger="ui.gradio_http"), ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, GradioGuard(gradio)(scope, receive, send)).result()
    assert "client disconnected during POST /gradio_api/upload" in caplog.text

    async def failing(scope, receive, send):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError), ThreadPoolExecutor(1) as thread:  # other errors still reach the server
        thread.submit(asyncio.run, GradioGuard(failing)(scope, receive, send)).result()
