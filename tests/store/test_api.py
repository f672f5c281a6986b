"""The HTTP API of the Annotate tab against the real app (gradio_client), and (b) SIGKILL during votes."""

from __future__ import annotations

import contextlib
import json

import pandas as pd
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from sqlmodel import select

from backend.store.models import Comparison, Rating
from tests.store.conftest import ADMIN_PASSWORD, VoteStreamer, annotator, make_campaign, unique_name

pytestmark = pytest.mark.api


@pytest.fixture
def client(store_app):
    return Client(store_app.url, verbose=False)


def stored_client_ids(db, table=Comparison) -> set[str]:
    with db.reading() as session:
        return set(session.exec(select(table.client_id)).all())


def test_next_pair_vote_and_duplicate_over_http(client, app_db, campaign_files):
    name = unique_name("api")
    make_campaign(app_db, campaign_files, name=name, allow_tie=True)
    user = client.predict(api_name="/new_annotator")
    assert user.startswith("anon-") and user != client.predict(api_name="/new_annotator")
    pair_id, left, right, progress = client.predict(name, user, api_name="/next_pair")
    assert pair_id.startswith("p") and left != right and "0" in progress
    assert all(p.endswith(".png") for p in (left, right))
    first = client.predict(name, user, pair_id, "tie", "api-vote-1", api_name="/vote")
    again = client.predict(name, user, pair_id, "tie", "api-vote-1", api_name="/vote")
    assert first["status"] == "stored" and again["status"] == "duplicate" and first["id"] == again["id"]
    assert "api-vote-1" in stored_client_ids(app_db)


def test_rating_over_http(client, app_db, campaign_files):
    name = unique_name("api-mos")
    make_campaign(app_db, campaign_files, name=name, kind="rating")
    rater = client.predict(api_name="/new_annotator")
    item_id, image, composite, reference, progress = client.predict(name, rater, api_name="/next_item")
    assert item_id.startswith("r") and composite and reference
    ack = client.predict(name, rater, item_id, "5", "api-rating-1", api_name="/rate")
    assert ack["status"] == "stored" and ack["score"] == 5


def test_bad_input_over_http_is_one_sentence_and_stores_nothing(client, app_db, campaign_files, tmp_path):
    name, other, mos = unique_name("api-bad"), unique_name("api-other"), unique_name("api-mos")
    make_campaign(app_db, campaign_files, name=name)
    make_campaign(app_db, campaign_files, name=other)
    make_campaign(app_db, campaign_files, name=mos, kind="rating")
    user = annotator(app_db, "bad-user")
    pair_id = client.predict(name, user, api_name="/next_pair")[0]
    foreign_pair_id = client.predict(other, user, api_name="/next_pair")[0]
    item_id = client.predict(mos, user, api_name="/next_item")[0]
    before = (stored_client_ids(app_db), stored_client_ids(app_db, Rating))
    (tmp_path / "campaign.txt").write_text("not a zip")
    (tmp_path / "fake.zip").write_text("not a zip either")
    calls = [
        ((unique_name("nope"), user, pair_id, "left", "b1"), "/vote", "There is no campaign"),
        ((name, user, pair_id, "sideways", "b2"), "/vote", "not valid"),
        ((name, user, foreign_pair_id, "left", "b3"), "/vote", "another campaign"),
        ((name, user, item_id, "left", "b3"), "/vote", "malformed"),
        ((mos, user, item_id, "9", "b4"), "/rate", "from 1"),
        ((name, "bad-user", pair_id, "left", "b5"), "/vote", "not issued by this server.*new_annotator"),
        ((name, "bad-user"), "/next_pair", "not issued by this server"),
        ((ADMIN_PASSWORD, handle_file(str(tmp_path / "campaign.txt")), "x", "pairwise", False, 0, 0, 0, 0,
          "uniform", "", ""), "/admin_create_campaign", r"Invalid file type.*\.zip"),  # refused by Gradio itself
        ((ADMIN_PASSWORD, handle_file(str(tmp_path / "fake.zip")), "x", "pairwise", False, 0, 0, 0, 0,
          "uniform", "", ""), "/admin_create_campaign", "not a .zip archive"),
        (("wrong", name), "/admin_stats", "password is wrong"),
    ]
    for args, endpoint, message in calls:
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name=endpoint)
    assert (stored_client_ids(app_db), stored_client_ids(app_db, Rating)) == before


def test_admin_stats_and_export_over_http(client, app_db, campaign_files):
    name = unique_name("api-admin")
    make_campaign(app_db, campaign_files, name=name)
    user = client.predict(api_name="/new_annotator")
    pair_id = client.predict(name, user, api_name="/next_pair")[0]
    client.predict(name, user, pair_id, "right", "admin-vote", api_name="/vote")
    stats = client.predict(ADMIN_PASSWORD, name, api_name="/admin_stats")
    assert stats["answers"] == 1 and stats["choices"]["right"] == 1
    exported = client.predict(ADMIN_PASSWORD, name, "parquet", False, api_name="/admin_export")
    table = pd.read_parquet(exported)
    assert table["client_vote_id"].tolist() == ["admin-vote"] and table["choice"].tolist() == ["right"]


def gradio_vote(client, campaign, annotator, vote_id) -> dict:
    pair_id = client.predict(campaign, annotator, api_name="/next_pair")[0]
    return client.predict(campaign, annotator, pair_id, "left", vote_id, api_name="/vote")


@pytest.mark.slow
def test_sigkill_while_votes_stream_loses_nothing_acknowledged(store_app, app_db, campaign_files):
    name = unique_name("crash")
    make_campaign(app_db, campaign_files, name=name)
    streamer = VoteStreamer(name, "kill", lambda: contextlib.nullcontext(Client(store_app.url, verbose=False)),
                            gradio_vote)
    streamer.kill_app_and_check(store_app, app_db, minimum=25)
    client = Client(store_app.url, verbose=False)  # the restarted app serves again
    user = client.predict(api_name="/new_annotator")
    pair_id = client.predict(name, user, api_name="/next_pair")[0]
    assert client.predict(name, user, pair_id, "right", "after-restart-1", api_name="/vote")["status"] == "stored"


def test_gradio_endpoints_over_plain_http_give_4xx_sentences_and_no_server_path(store_app, app_db, campaign_files):
    """``POST /gradio_api/run/<name>`` (ui/gradio_http.py): user errors are 4xx with the sentence, hostile bodies
    are refused before Gradio parses them, and no answer names a server path."""
    import httpx

    name = unique_name("api-run")
    make_campaign(app_db, campaign_files, name=name, kind="rating")
    with httpx.Client(base_url=store_app.url, timeout=60) as http:
        def run(api: str, data: list | None = None, content: bytes | None = None) -> httpx.Response:
            if content is not None:
                return http.post(f"gradio_api/run/{api}", content=content, headers={"content-type": "application/json"})
            return http.post(f"gradio_api/run/{api}", json={"data": data})

        user = run("new_annotator", []).json()["data"][0]
        served = run("next_item", [name, user])
        assert served.status_code == 200
        text = served.text
        assert str(store_app.data_dir) not in text and "file=" not in text and "/tmp/" not in text
        item_id, image, composite, reference, _ = served.json()["data"]
        assert image.startswith(store_app.url.rstrip("/") + "/annotate/v1/images/") and image.endswith(".png")
        assert http.get(image).content[:4] == b"\x89PNG"
        cases = [
            ("rate", [name, user, item_id, "9", "g1"], 400, "from 1"),
            ("rate", [name, "made-up", item_id, "3", "g2"], 403, "new_annotator"),
            ("next_item", [unique_name("nope"), user], 400, "There is no campaign"),
            ("leaderboard", [name, "bt", 2.5, "rating"], 400, "bootstrap rounds"),
            ("leaderboard", [name, "bt", float("nan"), "rating"], 400, "NaN is not a number"),  # refused before Gradio
        ]
        for api, data, status, message in cases:
            response = run(api, content=json.dumps({"data": data}).encode())
            assert response.status_code == status and message in response.json()["error"], (api, response.text)
        hostile = [b'{"data": [' + b"[" * 5000 + b"]" * 5000 + b"]}", b'{"data": ["x", ' + b"9" * 5000 + b"]}",
                   b'{"data": ["x", NaN]}', b'{"data": ["x\\u0000", "y"]}', b'{"data": ["\\ud800", "y"]}', b"{",
                   b'{"data": [' + b"1e999" + b"]}"]
        for api in ("next_pair", "vote", "next_item", "rate", "leaderboard", "models_vs_people"):
            for body in hostile:
                response = run(api, content=body)
                assert 400 <= response.status_code < 500 and response.json()["error"], (api, body[:30], response.text)
        # wrong shapes that reach the handler still get a sentence, not a crash
        for data in ([name], [name, user, item_id, {"x": 1}, "g3"], [name, [user], item_id, "3", "g4"],
                     [None, None, None, None, None], [name, user, item_id, 10**18, "g5"]):
            response = run("rate", data)
            assert 400 <= response.status_code < 500, (data, response.status_code, response.text)
        assert not any(client_id.startswith("g") for client_id in stored_client_ids(app_db, Rating))
