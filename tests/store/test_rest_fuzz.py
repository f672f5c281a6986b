"""Property-based fuzz of the JSON annotation API (``ui/rest.py``) with Hypothesis, on SQLite and PostgreSQL.

Random methods, paths (arbitrary bytes, percent-encoded), query strings and bodies — random JSON, deep
nesting, numbers of thousands of digits, NaN and infinity, NUL characters, lone surrogates, undecodable
bytes, and genuine requests with one field replaced — go to the API's routes in this process (Starlette's
TestClient over ``rest.routes()``: the code the app serves) with a real database. Whatever is sent, the
answer is never a 5xx: every refusal is a 4xx, and the API's own refusals are JSON with a sentence.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.conftest import make_campaign

API = "/annotate/v1"

texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=20),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfff", "study", "left", "tie", "3", "", " ", "hf:alice",
                     "../../etc/passwd", "%00", "𝕏" * 50, "x" * 300]),
)
numbers = st.one_of(st.integers(), st.integers(min_value=-10**30, max_value=10**30), st.floats(allow_nan=True),
                    st.sampled_from([0, 1, 5, 6, -1, 2**63, 10**18, 3.0, 2.5]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([
        b"[" * 100_000,  # deeper than any parser's recursion limit (and over the size limit)
        b'{"campaign": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b'{"campaign": ' + b"9" * 5000 + b"}",
        b'{"score": ' + b"9" * 400 + b"}",
        b'{"score": 1e400}',
        b'{"score": -1e400}',
        b'{"score": NaN}',
        b'{"score": Infinity}',
        b'{"campaign": "\\ud800"}',
        b'{"campaign": "a\\u0000b"}',
        b'{"annotator_id": "\\udfff\\ud800"}',
        b'{"\\ud800": 1}',
        b"\xed\xa0\x80",
        b"null", b"", b"{}", b'"text"', b"1",
    ]),
)
path_bytes = st.binary(max_size=30)


@pytest.fixture
def api(rest_client, campaign_files):
    """The API with a pairwise and a rating campaign, an issued annotator id and one served pair and item."""
    client, db = rest_client
    make_campaign(db, campaign_files, name="pairs", gold=True, gold_rate=0.3, allow_tie=True)
    make_campaign(db, campaign_files, name="mos", kind="rating")
    annotator = client.post(f"{API}/annotators").json()["annotator_id"]
    pair_id = client.get(f"{API}/campaigns/pairs/next_pair", params={"annotator_id": annotator}).json()["pair_id"]
    item_id = client.get(f"{API}/campaigns/mos/next_item", params={"annotator_id": annotator}).json()["item_id"]
    good = {
        "vote": {"campaign": "pairs", "annotator_id": annotator, "pair_id": pair_id, "choice": "left",
                 "client_vote_id": "fuzz-vote"},
        "rate": {"campaign": "mos", "annotator_id": annotator, "item_id": item_id, "score": 3,
                 "client_rating_id": "fuzz-rating"},
        "skip": {"campaign": "pairs", "annotator_id": annotator, "token": pair_id},
        "undo": {"campaign": "mos", "annotator_id": annotator},
    }
    return client, annotator, good


def check(response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    is_json = response.headers.get("content-type", "").startswith("application/json")
    if response.status_code >= 400 and is_json and response.request.method != "HEAD":
        message = response.json()["error"]
        assert isinstance(message, str) and message.endswith((".", "!")) and "Traceback" not in message


def encode(value) -> bytes:
    """JSON text of ``value`` as a client may send it: NaN and infinities as JSON's extensions, lone
    surrogates as \\u escapes (ensure_ascii)."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


@FUZZ
@given(route=st.sampled_from(["vote", "rate", "skip", "undo", "annotators"]), body=raw_bodies)
def test_raw_bodies(api, route, body):
    client, _, _ = api
    check(client.post(f"{API}/{route}", content=body, headers={"content-type": "application/json"}))


@FUZZ
@given(route=st.sampled_from(["vote", "rate", "skip", "undo"]), field=st.sampled_from(
    ["campaign", "annotator_id", "pair_id", "item_id", "choice", "score", "client_vote_id", "client_rating_id",
     "token", "extra"]), value=json_values)
def test_one_field_replaced(api, route, field, value):
    client, _, good = api
    body = dict(good[route])
    body[field] = value
    check(client.post(f"{API}/{route}", content=encode(body), headers={"content-type": "application/json"}))


@FUZZ
@given(body=json_values)
def test_random_json_bodies(api, body):
    client, _, _ = api
    for route in ("vote", "rate", "skip", "undo"):
        check(client.post(f"{API}/{route}", content=encode(body), headers={"content-type": "application/json"}))


@FUZZ
@given(name=st.one_of(path_bytes, st.sampled_from([b"pairs", b"mos", b"pairs\x00", b"\xed\xa0\x80", b"..", b"%"])),
       endpoint=st.sampled_from(["next_pair", "next_item"]), query=st.lists(st.tuples(path_bytes, path_bytes),
                                                                           max_size=3),
       annotator=st.one_of(st.none(), path_bytes, st.just(b"valid")))
def test_paths_and_query_strings(api, name, endpoint, query, annotator):
    client, issued, _ = api
    pairs = [(quote_from_bytes(k, safe=""), quote_from_bytes(v, safe="")) for k, v in query]
    if annotator is not None:
        pairs.append(("annotator_id", quote(issued) if annotator == b"valid" else quote_from_bytes(annotator, safe="")))
    url = f"{API}/campaigns/{quote_from_bytes(name, safe='')}/{endpoint}"
    if pairs:
        url += "?" + "&".join(f"{k}={v}" for k, v in pairs)
    check(client.get(url))


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]),
       path=st.lists(path_bytes, min_size=0, max_size=4), body=st.one_of(st.none(), raw_bodies))
def test_any_method_and_path(api, method, path, body):
    client, _, _ = api
    url = API + "/" + "/".join(quote_from_bytes(part, safe="") for part in path)
    check(client.request(method, url, content=body))


@FUZZ
@given(sha=st.one_of(path_bytes, st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map(str.encode)))
def test_image_route(api, sha):
    client, _, _ = api
    for method in ("GET", "HEAD"):
        check(client.request(method, f"{API}/images/{quote_from_bytes(sha, safe='')}.png"))
