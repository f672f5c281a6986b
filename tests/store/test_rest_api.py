"""The plain JSON annotation API (``ui/rest.py``, ``/annotate/v1``) on the real app, on SQLite and PostgreSQL.

Round trips (annotator id, vote, rating, images), exactly-once storage, 4xx JSON errors that change nothing,
the Hugging Face session identity (in-process), and (slow) acknowledged votes surviving a SIGKILL of the app.
"""

from __future__ import annotations

import time

import httpx
import pytest
from sqlmodel import select

from backend.store import tokens
from backend.store.campaigns import get_campaign, set_open
from backend.store.models import Annotator, Comparison, Rating
from tests.store.conftest import VoteStreamer, annotator, make_campaign, served_token, unique_name

API = "annotate/v1"


@pytest.fixture
def http(store_app):
    with httpx.Client(base_url=store_app.url, timeout=60) as client:
        yield client


def stored(db, table=Comparison) -> dict[str, tuple]:
    with db.reading() as session:
        rows = session.exec(select(table)).all()
    return {row.client_id: (row.id, getattr(row, "choice", None) or getattr(row, "score", None)) for row in rows}


def new_annotator(http) -> str:
    response = http.post(f"{API}/annotators")
    assert response.status_code == 201, response.text
    return response.json()["annotator_id"]


def next_pair(http, name, annotator_id) -> dict:
    response = http.get(f"{API}/campaigns/{name}/next_pair", params={"annotator_id": annotator_id})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.api
def test_vote_round_trip_images_and_duplicate(http, app_db, campaign_files):
    name = unique_name("rest")
    info = make_campaign(app_db, campaign_files, name=name, allow_tie=True)
    assert {"name": name, "kind": "pairwise", "open": True} in http.get(f"{API}/campaigns").json()["campaigns"]
    user = new_annotator(http)
    assert user.startswith("anon-") and user != new_annotator(http)
    served = next_pair(http, name, user)
    assert served["pair_id"].startswith(f"p{info.id}.") and served["left_image"] != served["right_image"]
    assert "0" in served["progress"]
    left_id = served_token(info, served["pair_id"], user.rsplit(".", 1)[0]).item_ids[0]
    image = http.get(served["left_image"].lstrip("/"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == app_db.media.get(info.items[left_id].sha256)
    assert "immutable" in image.headers["cache-control"]
    assert http.get(served["left_image"].lstrip("/"), headers={"If-None-Match": image.headers["etag"]}).status_code == 304
    body = {"campaign": name, "annotator_id": user, "pair_id": served["pair_id"], "choice": "tie",
            "client_vote_id": "rest-vote-1"}
    first = http.post(f"{API}/vote", json=body)
    again = http.post(f"{API}/vote", json={**body, "choice": "left"})  # a retry: the first answer wins
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "stored" and again.json()["status"] == "duplicate"
    assert first.json()["id"] == again.json()["id"] and again.json()["choice"] == "tie"
    assert stored(app_db)["rest-vote-1"] == (first.json()["id"], "tie")
    # the Gradio endpoints and the REST routes share one store: the answered pair cannot be answered again
    other = http.post(f"{API}/vote", json={**body, "client_vote_id": "rest-vote-2"})
    assert other.status_code == 400 and "already answered" in other.json()["error"]


@pytest.mark.api
def test_rating_round_trip(http, app_db, campaign_files):
    name = unique_name("rest-mos")
    make_campaign(app_db, campaign_files, name=name, kind="rating")
    rater = new_annotator(http)
    response = http.get(f"{API}/campaigns/{name}/next_item", params={"annotator_id": rater})
    served = response.json()
    assert response.status_code == 200 and served["item_id"].startswith("r")
    for key in ("image", "composite", "reference"):
        assert http.get(served[key].lstrip("/")).content[:8] == b"\x89PNG\r\n\x1a\n"
    body = {"campaign": name, "annotator_id": rater, "item_id": served["item_id"], "score": 4,
            "client_rating_id": "rest-rating-1"}
    ack = http.post(f"{API}/rate", json=body).json()
    assert ack["status"] == "stored" and ack["score"] == 4
    assert http.post(f"{API}/rate", json=body).json()["status"] == "duplicate"
    assert stored(app_db, Rating)["rest-rating-1"] == (ack["id"], 4)


def expired_token(db, name: str, key: str, pair: tuple[int, int]) -> str:
    """A genuine pair id issued 25 hours ago."""
    info = get_campaign(name, db)
    return tokens.issue(info.secret, key, "p", info.id, pair, issued_ms=tokens.now_millis() - 25 * 3600 * 1000)


@pytest.mark.api
def test_bad_input_gives_4xx_json_and_changes_nothing(http, app_db, campaign_files):
    name, other, mos = unique_name("rest-bad"), unique_name("rest-other"), unique_name("rest-bad-mos")
    info = make_campaign(app_db, campaign_files, name=name)
    make_campaign(app_db, campaign_files, name=other)
    make_campaign(app_db, campaign_files, name=mos, kind="rating")
    closed = unique_name("rest-closed")
    make_campaign(app_db, campaign_files, name=closed)
    set_open(closed, False, db=app_db)
    user = annotator(app_db, "bad-user")
    pair_id = next_pair(http, name, user)["pair_id"]
    foreign = next_pair(http, other, user)["pair_id"]
    someone_elses = next_pair(http, name, new_annotator(http))["pair_id"]
    item_id = http.get(f"{API}/campaigns/{mos}/next_item", params={"annotator_id": user}).json()["item_id"]
    expired = expired_token(app_db, name, "bad-user", tuple(info.groups["astronaut"][:2]))
    vote = {"campaign": name, "annotator_id": user, "pair_id": pair_id, "choice": "left", "client_vote_id": "b"}
    rate = {"campaign": mos, "annotator_id": user, "item_id": item_id, "score": 3, "client_rating_id": "b"}
    before = (stored(app_db), stored(app_db, Rating))
    cases = [
        ("get", f"{API}/campaigns/{unique_name('nope')}/next_pair?annotator_id=x", None, 404, "There is no campaign"),
        ("get", f"{API}/campaigns/{name}/next_pair", None, 403, "annotator id is missing; get one from POST"),
        ("get", f"{API}/campaigns/{name}/next_pair?annotator_id=bad-user", None, 403, "not issued by this server"),
        ("get", f"{API}/campaigns/{name}/next_pair?annotator_id=hf:mallory", None, 403, "not issued by this server"),
        ("get", f"{API}/campaigns/{name}/next_item?annotator_id={user}", None, 400, "pairwise campaign"),
        ("get", f"{API}/campaigns/{name}/next_pair?annotator_id=a%00b", None, 400, "NUL"),
        ("post", f"{API}/vote", {**vote, "annotator_id": "bad-user"}, 403, "/annotate/v1/annotators"),
        ("post", f"{API}/vote", {**vote, "annotator_id": user[:-2] + "xx"}, 403, "not issued by this server"),
        ("post", f"{API}/vote", {**vote, "campaign": closed}, 400, "closed"),
        ("post", f"{API}/vote", {**vote, "campaign": unique_name("nope")}, 404, "There is no campaign"),
        ("post", f"{API}/vote", {**vote, "choice": "sideways"}, 400, "not valid"),
        ("post", f"{API}/vote", {**vote, "choice": "tie"}, 400, "does not allow ties"),
        ("post", f"{API}/vote", {**vote, "pair_id": foreign}, 400, "another campaign"),
        ("post", f"{API}/vote", {**vote, "pair_id": someone_elses}, 400, "served to someone else"),
        ("post", f"{API}/vote", {**vote, "pair_id": pair_id[:-3] + "AAA"}, 400, "altered"),
        ("post", f"{API}/vote", {**vote, "pair_id": item_id}, 400, "malformed"),
        ("post", f"{API}/vote", {**vote, "pair_id": expired}, 400, "more than 24 hours ago"),
        ("post", f"{API}/vote", {**vote, "client_vote_id": ""}, 400, "client vote id is missing"),
        ("post", f"{API}/vote", {**vote, "extra": 1}, 400, "Unknown field"),
        ("post", f"{API}/vote", [vote], 400, "not a JSON object"),
        ("post", f"{API}/vote", {**vote, "campaign": mos}, 400, "rating campaign"),
        ("post", f"{API}/rate", {**rate, "score": 9}, 400, "from 1"),
        ("post", f"{API}/rate", {**rate, "score": "3.5"}, 400, "from 1"),
        ("post", f"{API}/rate", {**rate, "item_id": pair_id}, 400, "item id is malformed"),
        ("post", f"{API}/rate", {**rate, "note": "x" * 70_000}, 413, "64 KB"),
        ("get", f"{API}/images/{'0' * 64}.png", None, 404, "no stored image"),
        ("get", f"{API}/images/not-a-hash.png", None, 400, "not an image hash"),
    ]
    for method, path, body, status, message in cases:
        response = http.post(path, json=body) if method == "post" else http.get(path)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert message in response.json()["error"], (path, body, response.json())
    unknown = http.get(f"{API}/campaigns/{unique_name('nope')}/next_pair", params={"annotator_id": user}).json()["error"]
    assert name in unknown and closed not in unknown  # only open campaigns are named
    garbage = http.post(f"{API}/vote", content=b"{not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 400 and "not a JSON object" in garbage.json()["error"]
    assert (stored(app_db), stored(app_db, Rating)) == before
    assert http.post(f"{API}/vote", json=vote).json()["status"] == "stored"  # the served pair is still answerable


def test_hugging_face_session_identity_in_process(database_url, tmp_path, monkeypatch, campaign_files, settings_env):
    """A valid Gradio OAuth session answers as hf:<user> (as gr.OAuthProfile does); an expired one does not."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from backend.store.db import Database, close_default_databases
    from ui import rest

    settings_env(HARMONYLAB_DATABASE_URL=database_url, HARMONYLAB_DATA_DIR=tmp_path / "data")
    db = Database(database_url, tmp_path / "data")
    make_campaign(db, campaign_files, name="hf")
    sessions = {"valid": {"oauth_info": {"userinfo": {"preferred_username": "alice"}, "expires_at": time.time() + 600}},
                "expired": {"oauth_info": {"userinfo": {"preferred_username": "bob"}, "expires_at": time.time() - 1}}}

    class FakeSession:  # what Starlette's SessionMiddleware (installed by Gradio on Spaces) puts in the scope
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                scope["session"] = sessions.get(dict(scope["headers"]).get(b"x-test-session", b"").decode(), {})
            await self.app(scope, receive, send)

    app = Starlette(routes=rest.routes())
    app.add_middleware(FakeSession)
    try:
        with TestClient(app) as client:
            anonymous = annotator(db, "anon-1")
            for session, key in (("valid", "hf:alice"), ("expired", "anon-1"), ("", "anon-1")):
                headers = {"x-test-session": session}
                served = client.get(f"/{API}/campaigns/hf/next_pair", params={"annotator_id": anonymous},
                                    headers=headers).json()
                ack = client.post(f"/{API}/vote", headers=headers, json={
                    "campaign": "hf", "annotator_id": anonymous, "pair_id": served["pair_id"], "choice": "left",
                    "client_vote_id": f"hf-{session or 'none'}"}).json()
                assert ack["status"] == "stored"
                with db.reading() as s:
                    stored_key = s.exec(select(Annotator.key).join(Comparison, Comparison.annotator_id == Annotator.id)
                                        .where(Comparison.client_id == ack["client_id"])).one()
                assert stored_key == key
            # a valid login needs no annotator id at all; without a login a made-up one is refused
            served = client.get(f"/{API}/campaigns/hf/next_pair", headers={"x-test-session": "valid"})
            assert served.status_code == 200
            refused = client.get(f"/{API}/campaigns/hf/next_pair", params={"annotator_id": "anon-1"})
            assert refused.status_code == 403 and "/annotate/v1/annotators" in refused.json()["error"]
    finally:
        close_default_databases()
        db.dispose()


def test_request_body_limits_in_process():
    """Bodies are bounded even without a Content-Length (chunked), and must be JSON objects; checked before
    the store is touched."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ui import rest

    def chunks():
        for _ in range(80):
            yield b"x" * 1024

    with TestClient(Starlette(routes=rest.routes())) as client:
        response = client.post(f"/{API}/vote", content=chunks())
        assert response.status_code == 413 and "64 KB" in response.json()["error"]
        response = client.post(f"/{API}/rate", content=b"3")
        assert response.status_code == 400 and "not a JSON object" in response.json()["error"]
        assert client.get(f"/{API}/vote").status_code == 405


def rest_vote(http, campaign, annotator, vote_id) -> dict:
    pair_id = next_pair(http, campaign, annotator)["pair_id"]
    return http.post(f"{API}/vote", json={"campaign": campaign, "annotator_id": annotator, "pair_id": pair_id,
                                          "choice": "left", "client_vote_id": vote_id}).json()


@pytest.mark.api
@pytest.mark.slow
def test_sigkill_while_rest_votes_stream_loses_nothing_acknowledged(store_app, app_db, campaign_files):
    name = unique_name("rest-crash")
    make_campaign(app_db, campaign_files, name=name)
    streamer = VoteStreamer(name, "rest-kill", lambda: httpx.Client(base_url=store_app.url, timeout=30), rest_vote)
    streamer.kill_app_and_check(store_app, app_db, minimum=50)
    with httpx.Client(base_url=store_app.url, timeout=30) as http:  # the restarted app serves again
        user = new_annotator(http)
        pair_id = next_pair(http, name, user)["pair_id"]
        assert http.post(f"{API}/vote", json={"campaign": name, "annotator_id": user, "pair_id": pair_id,
                                              "choice": "right", "client_vote_id": "rest-after-1"}).json()["status"] == "stored"


def test_skip_and_undo_over_rest_are_corrections(rest_client, campaign_files):
    """The worker page's skip and undo as JSON routes: a skip serves another pair, an undo serves the undone
    vote's pair again and leaves its row in place, counted nowhere; with nothing to undo, a 400 sentence."""
    from backend.store import session as sessions

    client, db = rest_client
    make_campaign(db, campaign_files, name="rest-session", allow_tie=True)
    worker = client.post(f"{API}/annotators").json()["annotator_id"]
    nothing = client.post(f"{API}/undo", json={"campaign": "rest-session", "annotator_id": worker})
    assert nothing.status_code == 400 and "no answer to undo" in nothing.json()["error"]
    first = client.get(f"{API}/campaigns/rest-session/next_pair", params={"annotator_id": worker}).json()
    skipped = client.post(f"{API}/skip", json={"campaign": "rest-session", "annotator_id": worker,
                                               "token": first["pair_id"]})
    assert skipped.status_code == 200 and skipped.json()["pair_id"] != first["pair_id"]
    second = skipped.json()
    ack = client.post(f"{API}/vote", json={"campaign": "rest-session", "annotator_id": worker,
                                           "pair_id": second["pair_id"], "choice": "left",
                                           "client_vote_id": "session-1"}).json()
    assert ack["status"] == "stored"
    again = client.post(f"{API}/undo", json={"campaign": "rest-session", "annotator_id": worker})
    assert again.status_code == 200
    assert {again.json()["left_image"], again.json()["right_image"]} == {second["left_image"], second["right_image"]}
    with db.reading() as session:
        assert session.exec(select(Comparison).where(Comparison.id == ack["id"])).one()  # the row stays
    assert ack["id"] in sessions.undone_answer_ids(db, get_campaign("rest-session", db))
