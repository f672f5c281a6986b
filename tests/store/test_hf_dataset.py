"""``campaign export --format hf-dataset`` (issue #21): a folder the ``datasets`` library loads offline, every
answer a row (annotators pseudonymised), every image byte embedded; ``--push-to-hub`` fails with a sentence
when the hub cannot be reached (never run against the real hub here)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid

import pytest

from backend.store import pairwise, rating
from backend.store.annotators import pseudonym
from backend.store.export import answers_table
from tests.conftest import REPO
from tests.store.conftest import annotator, make_campaign

LOADER = """
import hashlib, json, sys
from datasets import Image, load_dataset
folder, answers, cache = sys.argv[1:4]
explicit = load_dataset("parquet", data_files=f"{folder}/{answers}/*.parquet", split="train", cache_dir=cache)
by_card = load_dataset(folder, answers, split="train", cache_dir=cache)
items = load_dataset(folder, "items", split="train", cache_dir=cache)
assert explicit.to_list() == by_card.to_list()
raw = items.cast_column("image", Image(decode=False))
for column in ("composite", "reference"):
    if column in raw.column_names:
        raw = raw.cast_column(column, Image(decode=False))
images = {}
for row in raw:
    for column in ("image", "composite", "reference"):
        if row.get(column) is not None:
            images[row[f"{column}_sha256"]] = hashlib.sha256(row[column]["bytes"]).hexdigest()
first = items[0]["image"]
print(json.dumps({"answers": [{k: str(v) for k, v in r.items()} for r in by_card.to_list()], "images": images,
                  "features": str(items.features["image"]), "decoded": [type(first).__name__, list(first.size)],
                  "items": items.remove_columns([c for c in items.column_names if c.endswith(("image", "composite",
                                                 "reference"))]).to_list()}))
"""


def _load_offline(folder, answers: str, tmp_path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home")}
    done = subprocess.run([sys.executable, "-c", LOADER, str(folder), answers, str(tmp_path / "datasets-cache")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["pairwise", "rating"])
def test_the_dataset_folder_loads_offline_and_round_trips_answers_and_images(db, campaign_files, tmp_path, kind):
    info = make_campaign(db, campaign_files, kind=kind, gold=True, gold_rate=0.3)
    for person in ("alice", "bob", "carol"):
        voter = annotator(db, person)
        for _ in range(6):
            if kind == "pairwise":
                served = pairwise.next_pair(info.name, voter, db=db)
                pairwise.vote(info.name, voter, served.pair_id, "right", uuid.uuid4().hex, db=db)
            else:
                served = rating.next_item(info.name, voter, db=db)
                rating.rate(info.name, voter, served.item_id, 3, uuid.uuid4().hex, db=db)
    from backend.store.hf_dataset import export_hf_dataset

    out = tmp_path / "export"
    written = export_hf_dataset(info.name, out, db=db)
    answers = "votes" if kind == "pairwise" else "ratings"
    assert written[answers] == 18 and written["items"] == len(info.items)
    export_hf_dataset(info.name, out, db=db)  # writing again replaces the folder
    loaded = _load_offline(out, answers, tmp_path)

    # every answer once, as in the raw export, annotators pseudonymised, no client ids
    raw = answers_table(info.name, db)
    id_column = "vote_id" if kind == "pairwise" else "rating_id"
    rows = {int(r[id_column]): r for r in loaded["answers"]}
    assert sorted(rows) == sorted(raw[id_column])
    for _, expected in raw.iterrows():
        row = rows[int(expected[id_column])]
        assert row["annotator"] == pseudonym(info.secret, expected["annotator"])
        for column in (("choice", "left_item", "right_item", "winner") if kind == "pairwise" else ("item", "score")):
            assert row[column] == str(expected[column])
        assert row["gold"] == str(bool(expected["gold"]))
    assert not {"alice", "bob", "carol"} & {r["annotator"] for r in loaded["answers"]}
    assert not any(c.startswith("client_") for c in loaded["answers"][0])

    # every image, byte for byte (its hash is its name), as Image features that decode to pictures
    used = {h for i in info.items.values() for h in (i.sha256, i.composite_sha256, i.reference_sha256) if h}
    assert loaded["images"] == {h: h for h in used}
    assert loaded["features"].startswith("Image(") and loaded["decoded"][0].endswith("ImageFile")
    assert {r["item"] for r in loaded["items"]} == {i.label for i in info.items.values()}


def test_push_to_hub_without_the_hub_fails_with_a_sentence_and_keeps_the_folder(tmp_path, campaign_files, settings_env):
    from backend.store.db import Database

    settings_env(HARMONYLAB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}", HARMONYLAB_DATA_DIR=tmp_path / "data")
    db = Database()
    info = make_campaign(db, campaign_files)
    db.dispose()
    out = tmp_path / "hub-export"
    base = [sys.executable, "-m", "backend", "campaign", "export", "--name", info.name, "--format", "hf-dataset",
            "--out", str(out), "--push-to-hub", "someone/harmonylab-votes"]
    for extra, reason in (({"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set"),
                          ({"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN": "hf_x"},
                           "Could not push to the Hugging Face hub dataset 'someone/harmonylab-votes'")):
        done = subprocess.run(base, cwd=REPO, env={**os.environ, **extra}, capture_output=True, text=True, timeout=300)
        assert done.returncode == 2 and reason in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert "the export is complete in" in done.stderr
        assert (out / "README.md").is_file() and list((out / "votes").glob("*.parquet"))
    wrong = subprocess.run(base[:-2] + ["--format", "csv"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "give --out FILE.csv" in wrong.stderr


def test_exported_images_are_the_stored_bytes(db, campaign_files, tmp_path):
    """Without ``datasets``: the Parquet cells hold the store's PNG bytes unchanged."""
    import pyarrow.parquet as pq

    from backend.store.hf_dataset import export_hf_dataset

    info = make_campaign(db, campaign_files)
    export_hf_dataset(info.name, tmp_path / "plain", db=db)
    table = pq.read_table(next((tmp_path / "plain" / "items").glob("*.parquet")))
    assert b"huggingface" in table.schema.metadata
    for cell, sha256 in zip(table.column("image").to_pylist(), table.column("image_sha256").to_pylist(), strict=True):
        assert cell["path"] == f"{sha256}.png" and hashlib.sha256(cell["bytes"]).hexdigest() == sha256
        assert cell["bytes"] == db.media.get(sha256)
