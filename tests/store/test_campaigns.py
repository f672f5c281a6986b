"""Campaign creation from manifests and archives, content-addressed images, the CLI, export and statistics."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from backend.cli import main
from backend.errors import InputError
from backend.store import pairwise, rating
from backend.store.campaigns import (
    CampaignSettings,
    create_campaign,
    create_campaign_from_archive,
    get_campaign,
)
from backend.store.export import answers_table, campaign_stats, export_campaign
from tests.conftest import REPO
from tests.store.conftest import METHODS, PHOTOS, annotator, make_campaign


def media_files(db) -> set[str]:
    return set(db.media.hashes())


def test_pairwise_campaign_from_manifest_stores_each_image_once_by_content_hash(db, campaign_files):
    info = make_campaign(db, campaign_files, gold=True, allow_tie=True, gold_rate=0.2)
    assert info.kind == "pairwise" and info.allow_tie and info.gold_rate == 0.2
    assert sorted(info.groups) == sorted(PHOTOS) and all(len(ids) == len(METHODS) for ids in info.groups.values())
    assert len(info.ordinary_ids) == 12 and len(info.golds) == 1 and len(info.items) == 14
    stored = db.media.hashes()
    # 12 results + 3 references + 3 composites + 2 gold images, but the "identity" results have the same
    # pixels as their references: content addressing stores those once, so 17 distinct images
    assert len(stored) == 17 and db.media.primary.hashes() == stored  # all in the configured store
    assert all(hashlib.sha256(db.media.get(h)).hexdigest() == h for h in stored)
    identity = [info.items[i] for i in info.groups["coffee"] if info.items[i].method == "identity"][0]
    assert identity.sha256 == identity.reference_sha256 and identity.composite_sha256 != identity.sha256


def test_rating_campaign_serves_the_image_with_its_composite_and_reference(db, campaign_files):
    make_campaign(db, campaign_files, name="mos", kind="rating")
    served = rating.next_item("mos", annotator(db, "rater"), db=db)
    assert served.composite and served.reference and served.image != served.composite
    ack = rating.rate("mos", annotator(db, "rater"), served.item_id, 4, "r-1", db=db)
    assert ack["status"] == "stored" and ack["score"] == 4
    table = answers_table("mos", db)
    assert list(table.columns[:3]) == ["annotator", "item", "score"] and table.loc[0, "score"] == 4


BAD_MANIFESTS = {
    "missing columns": ("path,method\na.png,x\n", "lacks column"),
    "unknown column": ("path,group,method,refrence\nastronaut/identity.png,g,m,x\n", "unknown column"),
    "missing file": ("path,group,method\nnope.png,g,m\nastronaut/warm.png,g,n\n", "does not exist"),
    "outside the folder": ("path,group,method\n../x.png,g,m\nastronaut/warm.png,g,n\n", "outside"),
    "duplicate method": ("path,group,method\nastronaut/identity.png,g,m\nastronaut/warm.png,g,m\n", "both give"),
    "no pairs": ("path,group,method\nastronaut/identity.png,g1,m\nastronaut/warm.png,g2,m\n", "no pair"),
    "not an image": ("path,group,method\nnotes.txt,g,m\nastronaut/warm.png,g,n\n", "not an image"),
    "empty": ("", "empty"),
    "header only": ("path,group,method\n", "no rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest_is_refused_and_stores_nothing(db, campaign_files, case):
    text, message = BAD_MANIFESTS[case]
    root = campaign_files["root"]
    (root / "notes.txt").write_text("not an image")
    (root / "bad.csv").write_text(text)
    before = media_files(db)
    with pytest.raises(InputError, match=message):
        create_campaign("bad", root / "bad.csv", CampaignSettings("pairwise"), db=db)
    assert media_files(db) == before
    with pytest.raises(InputError, match="no campaign 'bad'"):
        get_campaign("bad", db)


def test_duplicate_name_and_bad_settings_are_refused(db, campaign_files):
    make_campaign(db, campaign_files)
    with pytest.raises(InputError, match="already exists"):
        make_campaign(db, campaign_files)
    for settings, message in ((dict(gold_rate=1.5), "gold rate"), (dict(sampler="magic"), "unknown"),
                              (dict(daily_cap=-1), "negative"), (dict(gold_rate=0.3), "without gold")):
        with pytest.raises(InputError, match=message):
            make_campaign(db, campaign_files, name="other", **settings)
    with pytest.raises(InputError, match="not usable"):
        make_campaign(db, campaign_files, name="bad name!")


def test_campaign_from_a_zip_archive_and_unsupported_uploads(db, campaign_files, tmp_path):
    root = campaign_files["root"]
    archive = tmp_path / "campaign.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in root.rglob("*"):
            if path.is_file() and path.name not in ("gold_rating.csv",):
                bundle.write(path, f"upload/{path.relative_to(root)}")
    info = create_campaign_from_archive("zipped", archive, CampaignSettings("pairwise", gold_rate=0.5), db=db)
    assert len(info.ordinary_ids) == 12 and len(info.golds) == 1
    text_file = tmp_path / "campaign.txt"
    text_file.write_text("hello")
    with pytest.raises(InputError, match="not a .zip archive"):
        create_campaign_from_archive("texty", text_file, CampaignSettings("pairwise"), db=db)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as bundle:
        bundle.writestr("../escape.csv", "path,group,method\n")
    with pytest.raises(InputError, match="outside the archive"):
        create_campaign_from_archive("evil", evil, CampaignSettings("pairwise"), db=db)
    assert not (tmp_path / "escape.csv").exists()


def test_export_csv_and_parquet_and_stats(db, campaign_files, tmp_path):
    make_campaign(db, campaign_files, allow_tie=True)
    for step, choice in enumerate(["left", "right", "tie", "left"]):
        served = pairwise.next_pair("study", annotator(db, f"a{step % 2}"), db=db)
        pairwise.vote("study", annotator(db, f"a{step % 2}"), served.pair_id, choice, f"v{step}", db=db)
    assert export_campaign("study", tmp_path / "votes.csv", db) == 4
    assert export_campaign("study", tmp_path / "votes.parquet", db) == 4
    csv, parquet = pd.read_csv(tmp_path / "votes.csv"), pd.read_parquet(tmp_path / "votes.parquet")
    assert list(csv.columns[:4]) == ["annotator", "left", "right", "choice"] == list(parquet.columns[:4])
    assert csv["choice"].tolist() == ["left", "right", "tie", "left"] == parquet["choice"].tolist()
    assert set(csv["left"]) | set(csv["right"]) <= set(METHODS)
    assert str(parquet["created_at"].dt.tz) == "UTC"
    with pytest.raises(InputError, match=".csv or .parquet"):
        export_campaign("study", tmp_path / "votes.xlsx", db)
    stats = campaign_stats("study", db)
    assert stats["answers"] == 4 and stats["annotators"] == 2 and stats["choices"] == {"left": 2, "right": 1, "tie": 1}
    assert sum(stats["wins_by_method"].values()) == 3 and stats["items"] == 12 and stats["groups"] == 3


def test_cli_create_stats_export_and_errors(cli_database, campaign_files, tmp_path, capsys):
    code = main(["campaign", "create", "--name", "cli", "--kind", "pairwise", "--manifest",
                 str(campaign_files["manifest"]), "--allow-tie", "--gold", str(campaign_files["gold"]),
                 "--gold-rate", "0.1", "--daily-cap", "50", "--min-response-ms", "0"])
    created = json.loads(capsys.readouterr().out)
    assert code == 0 and created["items"] == 12 and created["gold_answers_defined"] == 1
    assert main(["campaign", "stats", "--name", "cli"]) == 0
    assert json.loads(capsys.readouterr().out)["answers"] == 0
    assert main(["campaign", "export", "--name", "cli", "--out", str(tmp_path / "out.parquet")]) == 0
    assert pd.read_parquet(tmp_path / "out.parquet").empty
    assert main(["campaign", "list"]) == 0
    assert [c["name"] for c in json.loads(capsys.readouterr().out)] == ["cli"]
    assert main(["campaign", "stats", "--name", "nope"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: There is no campaign 'nope'") and "\n" not in error
    (tmp_path / "bad.csv").write_text("path,group\nx.png,g\n")
    assert main(["campaign", "create", "--name", "x", "--kind", "rating", "--manifest", str(tmp_path / "bad.csv")]) == 2
    assert "lacks column(s) method" in capsys.readouterr().err


def test_python_m_backend_campaign_exit_code_2(tmp_path):
    """The real command line (engine-independent: the in-process CLI test above covers both engines)."""
    env = {**os.environ, "HARMONYLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "HARMONYLAB_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "backend", "campaign", "stats", "--name", "missing"], cwd=REPO,
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: There is no campaign 'missing'")
