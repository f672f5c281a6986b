"""Shared data builders: photo listing and split, distortions and MOS proxy, scored sets, build script."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from backend.data import distortions as dist
from backend.data.photos import SPLITS, list_photos, load_photo, skimage_photos, split_of
from backend.data.scored_set import read_scored_set
from backend.errors import InputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return skimage_photos(max_side=256)["astronaut"]


@pytest.fixture
def fake_root(tmp_path, monkeypatch, settings_env) -> Path:
    """A folder laid out like /usr/share with three opencv-doc photos (scikit-image pictures)."""
    root = tmp_path / "share"
    folder = root / "doc" / "opencv-doc" / "examples" / "data"
    folder.mkdir(parents=True)
    for name, array in zip(("apple.jpg", "baboon.jpg", "fruits.jpg"), skimage_photos(160).values()):
        Image.fromarray(array).save(folder / name, quality=95)
    (folder / "notes.png").write_bytes(b"not on the allow-list")
    settings_env(HARMONYLAB_PHOTO_ROOT=root)
    return root


def test_split_is_deterministic_and_follows_fractions():
    keys = [f"source/photo_{i}.jpg" for i in range(4000)]
    splits = [split_of(k) for k in keys]
    assert splits == [split_of(k) for k in keys]
    shares = pd.Series(splits).value_counts(normalize=True)
    assert abs(shares["train"] - 0.70) < 0.03 and abs(shares["test"] - 0.15) < 0.03
    assert {split_of(k, (0.0, 0.0, 1.0)) for k in keys[:50]} == {"test"}
    with pytest.raises(InputError):
        split_of("x", (0.5, 0.5, 0.5))


def test_missing_packages_name_the_apt_command(tmp_path, monkeypatch, settings_env):
    settings_env(HARMONYLAB_PHOTO_ROOT=tmp_path)
    with pytest.raises(InputError, match="apt-get install -y plasma-workspace-wallpapers mate-backgrounds opencv-doc"):
        list_photos()


def test_lists_only_allowed_photos_with_stable_splits(fake_root):
    photos = list_photos()
    assert [p.key for p in photos] == ["opencv/apple.jpg", "opencv/baboon.jpg", "opencv/fruits.jpg"]
    assert all(p.split == split_of(p.key) and p.split in SPLITS for p in photos)
    for split in SPLITS:
        assert list_photos(split) == [p for p in photos if p.split == split]
    image = load_photo(photos[0].path, max_side=100)
    assert image.dtype == np.uint8 and image.ndim == 3 and max(image.shape[:2]) == 100
    with pytest.raises(InputError):
        list_photos("holdout")


def test_lomiri_source_is_opt_in_and_named_when_missing(fake_root):
    with pytest.raises(InputError, match="apt-get install -y lomiri-wallpapers-16.04 lomiri-wallpapers-20.04"):
        list_photos(sources=("opencv", "lomiri"))
    folder = fake_root / "backgrounds"
    folder.mkdir()
    Image.open(fake_root / "doc" / "opencv-doc" / "examples" / "data" / "apple.jpg").save(folder / "Wine_by_Jakkub_Mede.jpg")
    (folder / "warty-final-ubuntu.png").write_bytes(b"a render, not on the allow-list")
    assert [p.key for p in list_photos()] == ["opencv/apple.jpg", "opencv/baboon.jpg", "opencv/fruits.jpg"]
    both = list_photos(sources=("opencv", "lomiri"))
    assert [p.key for p in both] == ["lomiri/Wine_by_Jakkub_Mede.jpg", "opencv/apple.jpg", "opencv/baboon.jpg",
                                     "opencv/fruits.jpg"]
    assert both[0].source == "lomiri" and both[0].split == split_of("lomiri/Wine_by_Jakkub_Mede.jpg")
    assert list_photos(sources=("lomiri", "opencv", "lomiri")) == both
    with pytest.raises(InputError, match="Unknown photo source"):
        list_photos(sources=("flickr",))


@pytest.mark.parametrize("family", sorted(dist.FAMILIES))
def test_each_family_is_deterministic_and_grows_with_level(photo, family):
    levels = [dist.distort(photo, family, level, dist.rng_for("k", family, level)) for level in range(6)]
    again = dist.distort(photo, family, 3, dist.rng_for("k", family, 3))
    assert np.array_equal(levels[3], again)
    assert np.array_equal(levels[0], photo)
    assert all(image.shape == photo.shape and image.dtype == np.uint8 for image in levels)
    # distance from the pristine photo (in colour, so that desaturation and casts count) grows with level
    error = [np.abs(image.astype(float) - photo).mean() for image in levels]
    assert all(b > a for a, b in zip(error, error[1:])), error


def test_bad_family_or_level(photo):
    with pytest.raises(InputError, match="Unknown distortion"):
        dist.distort(photo, "sepia", 1, np.random.default_rng(0))
    with pytest.raises(InputError, match="out of range"):
        dist.distort(photo, "jpeg", 6, np.random.default_rng(0))


def test_mos_proxy_mapping():
    assert dist.level_mos(0) == 5.0 and dist.level_mos(5) == pytest.approx(1.0)
    np.testing.assert_allclose(dist.fidelity_mos(dist.SSIM_KNOTS), dist.SSIM_KNOT_MOS)
    assert dist.fidelity_mos(0.0) == 1.0 and dist.fidelity_mos(1.0) == 5.0
    # a level-3 image whose SSIM sits on the level-3 knot is "consistent": only the base spread
    assert dist.mos_std(dist.level_mos(3), 0.86) == pytest.approx(dist.BASE_STD)
    assert dist.mos_std(dist.level_mos(5), 1.0) == pytest.approx(dist.BASE_STD + 0.5 * 4.0)


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def test_build_script_is_deterministic_and_keeps_photos_in_their_split(fake_root, tmp_path):
    outputs = []
    for run in range(2):
        out = tmp_path / f"set{run}"
        command = [sys.executable, "scripts/build_distorted_photos.py", "--out", str(out), "--max-side", "96",
                   "--families", "jpeg", "gaussian_blur"]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(out)
    assert _digest(outputs[0]) == _digest(outputs[1])
    table = read_scored_set(outputs[0] / "scores.csv")
    assert len(table) == 3 * (1 + 2 * 5)
    assert set(table.columns) >= {"path", "reference", "photo", "split", "distortion", "level", "mos", "mos_std"}
    assert table.groupby("photo")["split"].nunique().eq(1).all()
    assert (table.loc[table.level == 0, "mos"] == 5.0).all() and (table["mos_std"] >= dist.BASE_STD).all()


def test_build_script_without_photos_says_what_to_install(tmp_path):
    env = {"HARMONYLAB_PHOTO_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "scripts/build_distorted_photos.py", "--out", str(tmp_path / "o")],
                          cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "apt-get install" in done.stderr


def test_scored_set_errors(tmp_path):
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    cases = {
        "nopath.csv": ("mos,mos_std\n3,0.5\n", "no 'path' column"),
        "nomos.csv": ("path,mos_std\na.png,0.5\n", "no 'mos' column"),
        "nostd.csv": ("path,mos\na.png,3\n", "mos_std"),
        "badmos.csv": ("path,mos,mos_std\na.png,x,0.5\n", "row 1"),
        "missing.csv": ("path,mos,mos_std\nb.png,3,0.5\n", "missing image"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=message):
            read_scored_set(tmp_path / name)
    (tmp_path / "ok.csv").write_text("image,mos,std\na.png,3,0.5\n")
    table = read_scored_set(tmp_path / "ok.csv")
    assert table.loc[0, "path"] == str(image) and table.loc[0, "mos_std"] == 0.5
