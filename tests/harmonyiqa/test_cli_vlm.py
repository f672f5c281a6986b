"""``python -m backend harmonyiqa train|score``: training from a rating campaign of a temporary SQLite store
(MOS by paper 000's protocol) with the tiny VLM, scoring as CSV, registry status offline, clear errors."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from backend import registry
from backend.cli import main
from backend.errors import ModelUnavailableError
from tests.conftest import REPO, sample_photo

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
METHODS = {"PCT": (4, 0, -4), "DoveNet": (25, 5, -20), "PHD": (60, 10, -50)}  # colour shift of the foreground
QUALITY = {"PCT": 4.4, "DoveNet": 3.2, "PHD": 1.8}
SIZE = 24
EXAMPLE = str(REPO / "assets" / "examples" / "composite" / "lake.jpg")


@pytest.fixture
def store(tmp_path, monkeypatch, settings_env):
    from backend.store.db import close_default_databases, default_database

    settings_env(HARMONYLAB_DATA_DIR=tmp_path / "data", HARMONYLAB_DATABASE_URL=None, HARMONYLAB_HARMONYIQA_BASE=None)
    close_default_databases()
    registry.clear_cache()
    yield default_database()
    registry.clear_cache()
    close_default_databases()


def rating_campaign(db, folder):
    """12 harmonized images (4 composites x 3 methods) with references, rated 1-5 by 5 simulated annotators."""
    from backend.store import rating
    from backend.store.annotators import sign
    from backend.store.campaigns import CampaignSettings, create_campaign

    rows = ["path,group,method,reference"]
    for photo in PHOTOS:
        reference = sample_photo(photo)[::8, ::8][:SIZE, :SIZE].copy()
        (folder / photo).mkdir(parents=True)
        Image.fromarray(reference).save(folder / photo / "reference.png")
        for method, shift in METHODS.items():
            harmonized = reference.astype(int)
            harmonized[6:18, 6:18] += np.array(shift)
            Image.fromarray(np.clip(harmonized, 0, 255).astype(np.uint8)).save(folder / photo / f"{method}.png")
            rows.append(f"{photo}/{method}.png,{photo},{method},{photo}/reference.png")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    name = f"hiqa-{uuid.uuid4().hex[:6]}"
    info = create_campaign(name, folder / "manifest.csv", CampaignSettings(kind="rating"), db=db)
    method_of = {db.media.file(item.sha256): item.method for item in info.items.values()}
    rng = np.random.default_rng(3)
    given = []
    for annotator in [f"rater-{k}" for k in range(5)]:
        issued = sign(db, annotator)  # the annotator id the server would issue
        for _ in range(len(info.items)):
            served = rating.next_item(name, issued, db=db)
            score = int(np.clip(np.rint(QUALITY[method_of[served.image]] + rng.normal(0, 0.6)), 1, 5))
            rating.rate(name, issued, served.item_id, score, uuid.uuid4().hex, db=db)
            given.append({"annotator": annotator, "image": str(served.image), "score": score})
    return name, pd.DataFrame(given)


def eq1_mos(given: pd.DataFrame) -> pd.Series:
    """Paper 000 Eq. 1 by hand (no screening): z-score per subject, mean per image, 100 (z + 3) / 6."""
    z = given.groupby("annotator")["score"].transform(lambda s: (s - s.mean()) / s.std(ddof=1))
    return (100 * (z.groupby(given["image"]).mean() + 3) / 6).rename("mos")


def test_campaign_rows_follow_the_papers_mos_protocol(store, tmp_path):
    from backend.iqa.harmonyiqa.vlm.data import rows_from_campaign
    from backend.leaderboard import image_mos

    name, given = rating_campaign(store, tmp_path / "campaign")
    plain, summary = rows_from_campaign(name, db=store, screen=False)
    assert len(plain) == 12 and summary["ratings"] == 60 and summary["screening"] == "none"
    expected = eq1_mos(given)
    np.testing.assert_allclose(plain.set_index("image")["mos"].sort_index(), expected.sort_index(), atol=1e-9)
    assert plain["reference"].notna().all() and all(pd.Series(plain["image"]).map(lambda p: p in expected.index))
    assert dict(zip(plain["method"], plain["subset"], strict=True)) == {"PCT": "NGIHA", "DoveNet": "NGIHA", "PHD": "GIHA"}
    assert set(plain["group"]) == set(PHOTOS)
    screened, summary = rows_from_campaign(name, db=store)
    assert summary["screening"] == "ITU-R BT.500 (fraction rule)"
    leaderboard = image_mos(name, db=store).set_index("item")["mos"]
    np.testing.assert_allclose(screened.set_index("item")["mos"].sort_index(), leaderboard.sort_index(), atol=1e-9)
    mean_by_method = screened.groupby("method")["mos"].mean()
    assert mean_by_method["PCT"] > mean_by_method["DoveNet"] > mean_by_method["PHD"]
    custom, _ = rows_from_campaign(name, db=store, subset_map={"PHD": "generative"})
    assert set(custom["subset"]) == {"NGIHA", "generative"}


def test_train_from_a_campaign_then_score_as_csv(store, tmp_path, tiny_vlm_dir, capsys, monkeypatch, settings_env):
    name, _ = rating_campaign(store, tmp_path / "campaign")
    out = tmp_path / "vlm-fr"
    code = main(["harmonyiqa", "train", "--campaign", name, "--mode", "fr", "--base", str(tiny_vlm_dir),
                 "--out", str(out), "--stage1-epochs", "1", "--stage2-epochs", "1", "--batch-size", "2",
                 "--threads", "1", "--device", "cpu", "--val-fraction", "0.25"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = json.loads(printed.out)
    assert report["out"] == str(out) and set(report["validation"]["subsets"]) <= {"NGIHA", "GIHA"}
    assert report["validation"]["overall"]["n"] == 3  # 3 of the 12 images held out (whole composites)
    config = json.loads((out / "config.json").read_text())
    assert config["mode"] == "fr" and config["training"]["data"]["campaign"] == name
    assert config["training"]["data"]["rows"] == {"train": 9, "val": 3}
    rows = pd.read_csv(out / "rows.csv")
    assert len(rows) == 12 and rows.groupby("group")["split"].nunique().max() == 1

    settings_env(HARMONYLAB_HARMONYIQA_VLM_FR=out)
    images = [tmp_path / "campaign" / photo / "PHD.png" for photo in PHOTOS[:2]]
    references = [tmp_path / "campaign" / photo / "reference.png" for photo in PHOTOS[:2]]
    code = main(["harmonyiqa", "score", "--model", "harmonyiqa-vlm-fr", "--ref", str(references[0]),
                 "--ref", str(references[1]), *map(str, images)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    lines = printed.out.strip().splitlines()
    assert lines[0] == "image,score" and [line.split(",")[0] for line in lines[1:]] == list(map(str, images))
    from backend.images import load_image

    model = registry.create("harmonyiqa-vlm-fr")
    for line, image, reference in zip(lines[1:], images, references, strict=True):
        expected = model.score(load_image(image), load_image(reference)).score
        assert float(line.split(",")[1]) == pytest.approx(expected, rel=1e-5)
    assert main(["harmonyiqa", "score", "--model", "harmonyiqa-vlm-fr", str(images[0])]) == 2
    assert "full-reference" in capsys.readouterr().err

    from backend.leaderboard import models_vs_people  # the leaderboard's models-vs-people comparison

    result = models_vs_people(name, ["harmonyiqa-vlm-fr"], n_bootstrap=20, db=store)
    row = result.correlations.iloc[0]
    assert row["model"] == "harmonyiqa-vlm-fr" and row["n_items"] == 12
    assert result.item_scores["harmonyiqa-vlm-fr"].notna().all()


def test_default_score_model_is_the_seam_cue():
    """Issue #23: the training-free seam cue replaced the learned NR model as the default (it holds up on
    photo sources no model saw)."""
    from backend.cli import build_parser

    args = build_parser().parse_args(["harmonyiqa", "score", "image.png"])
    assert args.model == "harmonyiqa-seam" and args.ref is None


@pytest.mark.parametrize("argv, message", [
    (["harmonyiqa", "train", "--data", "no-such.csv"], "does not exist"),
    (["harmonyiqa", "train", "--data", "x.csv", "--base", "someone/some-vlm"], "Give --revision"),
    (["harmonyiqa", "train", "--campaign", "no-such-campaign"], "There is no campaign"),
    (["harmonyiqa", "score", "--model", "no-such-model", EXAMPLE], "Unknown model 'no-such-model'"),
    (["harmonyiqa", "score", "--model", "harmonyiqa-vlm-nr", "missing.png"], "does not exist"),
    (["harmonyiqa", "score", "--model", "harmonyiqa-vlm-nr", EXAMPLE], "no trained HarmonyIQA VLM"),
])
def test_errors_are_one_sentence_with_exit_code_2(store, argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


@pytest.fixture
def empty_hub_cache(monkeypatch, tmp_path):
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def fake_trained_folder(folder, mode="nr", base="someone/not-cached-vlm"):
    from backend.iqa.harmonyiqa.vlm.model import FILES, FORMAT

    folder.mkdir(parents=True)
    for name in FILES.values():
        (folder / name).write_bytes(b"")
    config = {"format": FORMAT, "mode": mode, "base": {"id": base, "revision": "0123456789abcdef" * 2 + "01234567"}}
    (folder / FILES["config"]).write_text(json.dumps(config))
    return folder


def test_registry_status_says_what_to_do(store, tmp_path, monkeypatch, empty_hub_cache, settings_env):
    detail = registry.status("harmonyiqa-vlm-nr").detail
    assert registry.status("harmonyiqa-vlm-nr").state == "unavailable"
    assert "python -m backend harmonyiqa train --mode nr" in detail and str(tmp_path / "data") in detail
    with pytest.raises(ModelUnavailableError, match="harmonyiqa train"):
        registry.create("harmonyiqa-vlm-nr")
    folder = fake_trained_folder(tmp_path / "data" / "harmonyiqa" / "vlm-nr")  # the default folder
    settings_env(HF_HUB_OFFLINE=None)
    status = registry.status("harmonyiqa-vlm-nr")
    assert status.state == "needs download" and "someone/not-cached-vlm@012345678" in status.detail
    settings_env(HF_HUB_OFFLINE="1")
    status = registry.status("harmonyiqa-vlm-nr")
    assert status.state == "unavailable" and "huggingface-cli download someone/not-cached-vlm" in status.detail
    with pytest.raises(ModelUnavailableError, match="HARMONYLAB_HARMONYIQA_BASE"):
        registry.create("harmonyiqa-vlm-nr")
    settings_env(HARMONYLAB_HARMONYIQA_BASE=tmp_path / "nowhere")
    assert "is not a folder" in registry.status("harmonyiqa-vlm-nr").detail
    (folder / "config.json").write_text("{broken")
    settings_env(HARMONYLAB_HARMONYIQA_BASE=None)
    assert "not valid JSON" in registry.status("harmonyiqa-vlm-nr").detail
    card = registry.card("harmonyiqa-vlm-fr")
    assert card.task == "iqa-fr" and not card.needs_mask and card.hub_weights.revision == "7e3e67edbbed1bf9888184d9df282b700a323964"


def test_default_base_offline_names_the_pinned_revision(store, tmp_path, monkeypatch, empty_hub_cache, capsys, settings_env):
    from tests.harmonyiqa.conftest import harmonization_set

    settings_env(HF_HUB_OFFLINE="1")
    csv = harmonization_set(tmp_path / "set", count=6)
    assert main(["harmonyiqa", "train", "--data", str(csv)]) == 2
    err = capsys.readouterr().err
    assert "HuggingFaceTB/SmolVLM-256M-Instruct@7e3e67edbbed1bf9888184d9df282b700a323964" in err
    assert "not in the local hub cache" in err and "about 0.5 GB" in err
