"""Photo sources (issue #23): the Qt resource reader, the GCompris sources, balanced draws, by-source folds."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from backend.data import by_source
from backend.data.photos import (
    UNSEEN_SOURCE,
    UNSEEN_SPLIT,
    draw_photo,
    list_photos,
    load_photo,
    skimage_photos,
    source_of,
    unseen_photos,
)
from backend.data.qt_resources import read_resources, write_resources
from backend.errors import InputError


def webp(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="WEBP", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("compress", [True, False])
def test_rcc_round_trip(tmp_path, version, compress):
    files = {"gcompris/src/a/b.txt": b"hello", "gcompris/c.bin": bytes(range(256)), "empty": b""}
    path = tmp_path / "x.rcc"
    path.write_bytes(write_resources(files, version=version, compress=compress))
    assert read_resources(path) == {f"/{k}": v for k, v in files.items()}
    assert read_resources(path, (".TXT",)) == {"/gcompris/src/a/b.txt": b"hello"}


def test_rcc_reads_a_hand_made_version_1_file(tmp_path):
    """A file laid out by hand from Qt's documented format (not by write_resources): root folder with one
    zlib-compressed file named "a"."""
    content = b"pixels"
    compressed = struct.pack(">I", len(content)) + zlib.compress(content)
    payload = struct.pack(">I", len(compressed)) + compressed
    names = struct.pack(">HI", 1, 97) + "a".encode("utf-16-be")
    header_size = 20
    tree_offset = header_size + len(payload) + len(names)
    root = struct.pack(">IHII", 0, 0x2, 1, 1)
    leaf = struct.pack(">IHHHI", 0, 0x1, 0, 0, 0)
    data = b"qres" + struct.pack(">IIII", 1, tree_offset, header_size, header_size + len(payload))
    path = tmp_path / "hand.rcc"
    path.write_bytes(data + payload + names + root + leaf)
    assert read_resources(path) == {"/a": b"pixels"}


def test_rcc_refuses_other_files(tmp_path):
    path = tmp_path / "not.rcc"
    path.write_bytes(b"PK\x03\x04 a zip file, not a resource file")
    with pytest.raises(InputError, match="not a Qt resource file"):
        read_resources(path)
    damaged = tmp_path / "damaged.rcc"
    damaged.write_bytes(write_resources({"a": b"x"})[:30])
    with pytest.raises(InputError):
        read_resources(damaged)


@pytest.fixture
def gcompris_root(tmp_path, settings_env):
    """A /usr/share-like tree with tiny GCompris rcc files: two training activities and one unseen one."""
    root = tmp_path / "share"
    rcc = root / "gcompris-qt" / "rcc"
    rcc.mkdir(parents=True)
    photos = list(skimage_photos(400).values())
    small = np.zeros((64, 64, 3), np.uint8)
    base = "gcompris/src/activities"
    (rcc / "erase.rcc").write_bytes(write_resources({
        f"{base}/erase/resource/cat.webp": webp(photos[2]), f"{base}/erase/resource/icon.webp": webp(small),
        f"{base}/erase/Erase.qml": b"Item {}"}))
    (rcc / "details.rcc").write_bytes(write_resources({
        f"{base}/details/resource/image/TajMahal_background.webp": webp(photos[0]),
        f"{base}/details/resource/image/TajMahal_0.webp": webp(photos[0][:40, :40]),
        f"{base}/details/resource/image/Gogh4_background.webp": webp(photos[1])}))  # a painting: left out
    (rcc / "explore_farm_animals.rcc").write_bytes(write_resources({
        f"{base}/explore_farm_animals/resource/cow.webp": webp(photos[3])}))
    settings_env(HARMONYLAB_PHOTO_ROOT=root, HARMONYLAB_DATA_DIR=tmp_path / "data")
    return root


def test_gcompris_sources_extract_curated_photos_once(gcompris_root, tmp_path):
    photos = list_photos(sources=("gcompris",))
    assert [p.key for p in photos] == ["gcompris/details/image/TajMahal_background.webp", "gcompris/erase/cat.webp"]
    assert all(p.source == "gcompris" and p.split in ("train", "validation", "test") for p in photos)
    assert all(str(p.path).startswith(str(tmp_path / "data" / "photo-cache")) for p in photos)
    with Image.open(photos[1].path) as image:
        assert image.size == (400, 266)
    mtime = photos[0].path.stat().st_mtime_ns
    assert list_photos(sources=("gcompris",)) == photos  # read from the cache
    assert photos[0].path.stat().st_mtime_ns == mtime
    unseen = unseen_photos()
    assert [(p.key, p.source, p.split) for p in unseen] == [
        ("gcompris-unseen/explore_farm_animals/cow.webp", UNSEEN_SOURCE, UNSEEN_SPLIT)]
    assert list_photos("train", sources=("gcompris", UNSEEN_SOURCE)) == [p for p in photos if p.split == "train"]
    assert list_photos(UNSEEN_SPLIT, sources=("gcompris", UNSEEN_SOURCE)) == unseen


def test_gcompris_missing_names_the_package(tmp_path, settings_env):
    settings_env(HARMONYLAB_PHOTO_ROOT=tmp_path, HARMONYLAB_DATA_DIR=tmp_path / "data")
    with pytest.raises(InputError, match="apt-get install -y gcompris-qt-data"):
        list_photos(sources=("gcompris",))


def test_draw_photo_balances_sources():
    keys = [f"big/{i}.jpg" for i in range(40)] + ["small/a.jpg", "small/b.jpg"]
    rng = np.random.default_rng(0)
    drawn = [source_of(draw_photo(keys, rng, balance_sources=True)) for _ in range(2000)]
    assert abs(drawn.count("small") / 2000 - 0.5) < 0.05
    plain = np.random.default_rng(1)
    again = np.random.default_rng(1)
    assert draw_photo(keys, plain) == keys[int(again.integers(len(keys)))]  # the builders' old draw, unchanged


def test_leave_one_source_out_folds():
    sources = ["a", "a", "a", "b", "b", "c", UNSEEN_SOURCE]
    splits = ["train", "validation", "test", "train", "test", "train", UNSEEN_SPLIT]
    folds = list(by_source.leave_one_source_out(sources, splits))
    assert [f.held_out for f in folds] == ["a", "b", "c"]
    fold = folds[0]
    assert fold.train.tolist() == [False, False, False, True, False, True, False]
    assert not fold.validation.any()
    assert fold.evaluation.tolist() == [True, True, True, False, False, False, False]
    for f in folds:  # the unseen row is in no fold, and no fold trains on what it evaluates
        assert not (f.train | f.validation | f.evaluation)[-1]
        assert not (f.train & f.evaluation).any()
    with pytest.raises(InputError, match="at least 2"):
        list(by_source.leave_one_source_out(["a", UNSEEN_SOURCE], ["train", UNSEEN_SPLIT]))


def test_figures_by_source_and_means():
    sources = np.array(["a", "a", "b", "b", UNSEEN_SOURCE])
    values = np.array([1.0, 3.0, 5.0, 7.0, 10.0])
    per_source = by_source.figures_by_source(sources, lambda rows: {"mean": float(values[rows].mean()),
                                                                     "n": int(rows.sum())})
    assert per_source == {"a": {"mean": 2.0, "n": 2}, "b": {"mean": 6.0, "n": 2}, "unseen": {"mean": 10.0, "n": 1}}
    block = by_source.summary(per_source)
    assert block["mean_over_sources"] == {"mean": 4.0, "n": 2.0, "folds": 2}
    assert block["unseen"] == {"mean": 10.0, "n": 1}
    assert by_source.mean_over_folds({"a": {"x": float("nan")}, "b": {"x": 1.0}}) == {"x": 1.0, "folds": 2}
    assert by_source.source_counts(["a", "a", "b"], ["p1", "p2", "p2"]) == {"a": 2, "b": 1}


@pytest.fixture
def mixed_root(gcompris_root):
    """The GCompris tree above plus three opencv-doc photos (apple, baboon: train split)."""
    folder = gcompris_root / "doc" / "opencv-doc" / "examples" / "data"
    folder.mkdir(parents=True)
    for name, array in zip(("apple.jpg", "baboon.jpg", "fruits.jpg"), skimage_photos(200).values(), strict=False):
        Image.fromarray(array).save(folder / name, quality=95)
    return gcompris_root


def test_builders_record_sources_and_build_the_unseen_split(mixed_root, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    from backend.iqa.harmonyiqa.lite.data import build_dataset, read_index

    index = build_dataset(tmp_path / "lite", {"train": 3, "unseen": 1}, side=96, harmonizers=(), show_progress=False,
                          sources=("opencv", "gcompris"), balance_sources=True)
    table = read_index(index)
    assert set(table["split"]) == {"train", UNSEEN_SPLIT}
    assert (table["source"] == [source_of(k) for k in table["photo"]]).all()
    assert set(table.loc[table["split"] == UNSEEN_SPLIT, "source"]) == {UNSEEN_SOURCE}
    assert set(table.loc[table["split"] == "train", "source"]) <= {"opencv", "gcompris"}
    build = json.loads((tmp_path / "lite" / "build.json").read_text())
    assert build["sources"] == ["opencv", "gcompris"] and build["balance_sources"]
    assert build["photos_per_source"][UNSEEN_SOURCE] == 1

    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "distorted"
    done = subprocess.run([sys.executable, "scripts/build_distorted_photos.py", "--out", str(out), "--max-side", "96",
                           "--families", "jpeg", "--sources", "opencv,gcompris", "--unseen"],
                          cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    scores = pd.read_csv(out / "scores.csv")
    assert scores.groupby("source")["photo"].nunique().to_dict() == {"gcompris": 2, UNSEEN_SOURCE: 1, "opencv": 3}
    assert set(scores.loc[scores["source"] == UNSEEN_SOURCE, "split"]) == {UNSEEN_SPLIT}


def test_lxqt_source_lists_only_its_photographs(tmp_path, settings_env):
    """lxqt-themes' wallpapers folder: the allow-listed photographs are listed (opt-in source), the renders beside
    them are not, and a missing package names its apt-get command."""
    settings_env(HARMONYLAB_PHOTO_ROOT=tmp_path, HARMONYLAB_DATA_DIR=tmp_path / "data")
    with pytest.raises(InputError, match="apt-get install -y lxqt-themes"):
        list_photos(sources=("lxqt",))
    folder = tmp_path / "lxqt" / "wallpapers"
    folder.mkdir(parents=True)
    photos = list(skimage_photos(200).values())
    Image.fromarray(photos[0]).save(folder / "fog.jpg", quality=95)
    Image.fromarray(photos[1]).save(folder / "Valendas.png")
    Image.fromarray(photos[2]).save(folder / "origami-dark.png")  # a render of the package: not on the list
    listed = list_photos(sources=("lxqt",))
    assert [(p.key, p.source) for p in listed] == [("lxqt/Valendas.png", "lxqt"), ("lxqt/fog.jpg", "lxqt")]
    assert all(p.split in ("train", "validation", "test") for p in listed)
    assert load_photo(listed[1].path, max_side=64).shape[1] == 64
    from backend.data.photos import DEFAULT_SOURCES, TRAINING_SOURCES

    assert "lxqt" in TRAINING_SOURCES and "lxqt" not in DEFAULT_SOURCES  # opt-in: the shipped sets are unchanged


def test_held_out_mean_leaves_out_the_sources_a_model_trained_on():
    per_source = {"a": {"srcc": 0.9, "n": 4}, "b": {"srcc": 0.5, "n": 4}, "c": {"srcc": 0.3, "n": 2},
                  "unseen": {"srcc": 0.1, "n": 3}}
    shipped = by_source.summary(per_source, trained_on=["a"])
    assert shipped["held_out_sources"] == ["b", "c"]
    assert shipped["mean_over_held_out_sources"] == {"srcc": pytest.approx(0.4), "n": 3.0, "folds": 2}
    assert shipped["mean_over_sources"]["srcc"] == pytest.approx(1.7 / 3)
    assert shipped["unseen"] == {"srcc": 0.1, "n": 3}
    free = by_source.summary(per_source)  # training-free: every source is held out
    assert free["held_out_sources"] == ["a", "b", "c"] and free["mean_over_held_out_sources"] == free["mean_over_sources"]
    block = {"per_source": {"a": {"x": 1.0}, "b": {"x": 2.0}}, "trained_on_sources": ["b"]}
    assert by_source.add_held_out_mean(block)["mean_over_held_out_sources"] == {"x": 1.0, "folds": 1}
    everything = by_source.summary({"a": {"x": 1.0}}, trained_on=["a"])
    assert everything["held_out_sources"] == [] and everything["mean_over_held_out_sources"] == {"folds": 0}
