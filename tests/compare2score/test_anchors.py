"""Eq. 4 anchor selection and anchor-set validation."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from backend.errors import InputError
from backend.iqa.compare2score.anchors import (
    DEFAULT_ANCHORS,
    anchor_set_from_arrays,
    load_anchor_set,
    select_anchors,
    write_anchor_set,
)


def scored(rows):
    return pd.DataFrame(rows, columns=["path", "mos", "mos_std"])


def test_eq4_least_variance_per_equal_width_interval():
    table = scored([
        ("a", 1.0, 0.5), ("b", 1.2, 0.2), ("c", 2.0, 0.3), ("d", 2.3, 0.9),
        ("e", 3.0, 0.4), ("f", 3.1, 0.1), ("g", 4.0, 0.2), ("h", 4.9, 0.6), ("i", 5.0, 0.25)])
    chosen = select_anchors(table, alpha=5, beta=1)
    # edges 1, 1.8, 2.6, 3.4, 4.2, 5 -> intervals {a,b} {c,d} {e,f} {g} {h,i}
    assert chosen["path"].tolist() == ["b", "c", "f", "g", "i"]
    two = select_anchors(table, alpha=5, beta=2)
    assert sorted(two["path"]) == sorted(["a", "b", "c", "d", "e", "f", "g", "h", "i"])
    assert len(select_anchors(table, alpha=2, beta=1)) == 2


def test_mos_on_an_edge_opens_the_upper_interval_and_empty_intervals_are_skipped():
    table = scored([(f"x{k}", 1.0 + 0.8 * k, 0.3) for k in range(6)])  # 1.0, 1.8, ..., 5.0: edges exactly
    chosen = select_anchors(table)
    assert chosen["mos"].round(6).tolist() == [1.0, 1.8, 2.6, 3.4, 4.2] or chosen["mos"].round(6).tolist() == [1.0, 1.8, 2.6, 3.4, 5.0]
    sparse = scored([("p", 1.0, 0.1), ("q", 5.0, 0.1)])
    assert select_anchors(sparse)["path"].tolist() == ["p", "q"]


def test_quantile_intervals_and_bad_options():
    table = scored([(f"x{k}", float(k), 0.1 + 0.01 * k) for k in range(10)])
    assert len(select_anchors(table, intervals="quantile")) == 5
    with pytest.raises(InputError):
        select_anchors(table, intervals="log")
    with pytest.raises(InputError):
        select_anchors(table, alpha=0)
    with pytest.raises(InputError, match="standard deviation"):
        select_anchors(table.drop(columns="mos_std"))


def test_anchor_sets_need_two_anchors_with_mos(tmp_path):
    image = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(InputError, match="at least two anchor"):
        anchor_set_from_arrays([image], [3.0])
    with pytest.raises(InputError, match="numeric MOS"):
        anchor_set_from_arrays([image, image], [3.0, None])
    with pytest.raises(InputError, match="same MOS"):
        anchor_set_from_arrays([image, image], [3.0, 3.0])
    Image.fromarray(image).save(tmp_path / "a.png")
    (tmp_path / "one.csv").write_text("path,mos,mos_std\na.png,3,0.2\n")
    with pytest.raises(InputError, match="at least two anchor"):
        load_anchor_set(tmp_path / "one.csv")
    (tmp_path / "nomos.csv").write_text("path,mos_std\na.png,0.2\na.png,0.3\n")
    with pytest.raises(InputError, match="mos"):
        load_anchor_set(tmp_path / "nomos.csv")
    (tmp_path / "empty_mos.csv").write_text("path,mos\na.png,3\na.png,\n")
    with pytest.raises(InputError, match="numeric MOS"):
        load_anchor_set(tmp_path / "empty_mos.csv")
    with pytest.raises(InputError, match="anchors.csv"):
        load_anchor_set(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        load_anchor_set(tmp_path / "missing")


def test_write_and_reload_round_trip(tmp_path):
    paths = []
    for k, value in enumerate((30, 120, 220)):
        path = tmp_path / f"src{k}.png"
        Image.fromarray(np.full((20, 20, 3), value, np.uint8)).save(path)
        paths.append(str(path))
    table = scored([(paths[0], 4.0, 0.2), (paths[1], 1.0, 0.3), (paths[2], 2.5, 0.1)])
    out = write_anchor_set(select_anchors(table, alpha=3), tmp_path / "set", {"note": "test"})
    anchors = load_anchor_set(out)
    assert anchors.mos.tolist() == [1.0, 2.5, 4.0] and len(anchors) == 3
    assert anchors.images[0].mean() == 120 and anchors.key == load_anchor_set(out / "anchors.csv").key


def test_default_anchor_set_ships_five_anchors():
    anchors = load_anchor_set(None)
    assert len(anchors) == 5 and anchors.source == str(DEFAULT_ANCHORS)
    assert np.all(np.diff(anchors.mos) > 0) and np.all(anchors.mos_std > 0)
