"""HarmonyIQA-lite data: the fMSE -> MOS map, partial harmonization, and a deterministic split builder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from backend.data.photos import Photo
from backend.iqa.harmonyiqa.lite import data as lite_data
from tests.conftest import sample_photo


def test_mos_map_is_monotone_with_documented_anchors():
    fmse = np.array([0.0, 10.0, 100.0, 300.0, 1000.0, 2500.0, 65025.0])
    mos = lite_data.mos_from_fmse(fmse)
    assert np.all(np.diff(mos) < 0)
    assert mos[0] > 99.0 and abs(mos[3] - 50.0) < 1e-9 and 10.0 < mos[5] < 14.0 and mos[-1] > 0.0
    assert isinstance(lite_data.mos_from_fmse(300.0), float)


def test_interpolation_moves_only_the_foreground_from_composite_to_real():
    real = sample_photo("coffee")[::4, ::4].copy()
    mask = np.zeros(real.shape[:2], bool)
    mask[20:60, 30:90] = True
    composite = real.copy()
    composite[mask] = np.clip(real[mask].astype(int) + 60, 0, 255)
    assert np.array_equal(lite_data.interpolate(composite, real, mask, 0.0), composite)
    assert np.array_equal(lite_data.interpolate(composite, real, mask, 1.0), real)
    errors = [((lite_data.interpolate(composite, real, mask, t).astype(float) - real) ** 2)[mask].mean()
              for t in (0.0, 0.3, 0.6, 0.9)]
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False))
    half = lite_data.interpolate(composite, real, mask, 0.5)
    assert np.array_equal(half[~mask], real[~mask])


@pytest.fixture(scope="module")
def two_photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lite-photos")
    photos = []
    for name in ("chelsea", "coffee"):
        path = folder / f"{name}.png"
        Image.fromarray(sample_photo(name)[::2, ::2]).save(path)
        photos.append(Photo(f"skimage/{name}", path, "skimage", "test"))
    return photos


def test_build_split_is_deterministic_and_scores_every_version(two_photos, tmp_path):
    first = lite_data.build_split(two_photos, 2, tmp_path / "a" / "test", seed=5, side=160, harmonizers=("reinhard",))
    again = lite_data.build_split(two_photos, 2, tmp_path / "b" / "test", seed=5, side=160, harmonizers=("reinhard",))
    assert pd.DataFrame(first).equals(pd.DataFrame(again))
    assert all((tmp_path / "a" / r["image"]).read_bytes() == (tmp_path / "b" / r["image"]).read_bytes() for r in first)
    kinds = [r["kind"] for r in first]
    assert kinds[:6] == ["real", "composite", "partial0", "partial1", "partial2", "reinhard"] and len(kinds) == 12
    for row in first:
        assert (tmp_path / "a" / row["image"]).is_file() and row["split"] == "test"
        assert row["mos"] == pytest.approx(lite_data.mos_from_fmse(row["fmse"]))
        assert 0.01 <= row["foreground_ratio"] <= 0.6
    real, composite, p0, p1, p2 = first[:5]
    assert real["fmse"] == 0.0 and real["image"] == real["reference"]
    assert composite["fmse"] > p0["fmse"] > p1["fmse"] > p2["fmse"] > 0.0
    assert 0.1 <= p0["strength"] <= 0.4 <= p1["strength"] <= 0.7 <= p2["strength"] <= 0.95


def test_read_index_names_the_missing_columns(tmp_path):
    from backend.errors import InputError

    (tmp_path / "index.csv").write_text("image,mos\na.png,50\n")
    with pytest.raises(InputError, match="lacks the column"):
        lite_data.read_index(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        lite_data.read_index(tmp_path / "nothing.csv")
