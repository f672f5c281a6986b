"""HarmonyIQA training rows: CSV reading with clear errors, subsets from methods, the 4:1 split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from backend.errors import InputError
from backend.iqa.harmonyiqa.vlm.data import read_rows, read_subset_map, split_rows, subset_for
from tests.harmonyiqa.conftest import harmonization_set


@pytest.fixture
def rows_csv(tmp_path):
    return harmonization_set(tmp_path / "set", count=10)


def rewrite(path, edit):
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(table)
    table.to_csv(path, index=False)
    return path


def test_reads_rows_with_absolute_paths_and_subsets(rows_csv):
    rows = read_rows(rows_csv)
    assert list(rows.columns[:4]) == ["image", "mos", "reference", "subset"]
    assert len(rows) == 10 and rows["mos"].dtype == np.float64
    assert all(p.startswith(str(rows_csv.parent)) for p in rows["image"]) and rows["reference"].notna().all()
    assert set(rows["subset"]) == {"GIHA", "NGIHA"} and rows["split"].isna().all()


def test_nr_rows_need_no_reference_and_methods_give_subsets(rows_csv):
    methods = ["PCT", "DoveNet", "PHD", "IC-Light", "unknown-method"] * 2
    path = rewrite(rows_csv, lambda t: (t.drop(columns=["reference", "subset"], inplace=True),
                                        t.insert(2, "method", methods)))
    rows = read_rows(path)
    assert rows["reference"].isna().all()
    assert list(rows["subset"][:5]) == ["NGIHA", "NGIHA", "GIHA", "GIHA", None]
    custom = read_rows(path, subset_map={"unknown-method": "mine", "pct": "other"})
    assert list(custom["subset"][:5]) == ["other", "NGIHA", "GIHA", "GIHA", "mine"]
    assert subset_for("ObjectStitch") == "GIHA" and subset_for(None) is None


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.drop(columns=["mos"], inplace=True), "lacks column"),
    (lambda t: t.drop(columns=["image"], inplace=True), "lacks column"),
    (lambda t: t.loc.__setitem__((3, "mos"), ""), "no finite MOS in data row 4"),
    (lambda t: t.loc.__setitem__((2, "mos"), "nan"), "no finite MOS in data row 3"),
    (lambda t: t.loc.__setitem__((1, "mos"), "good"), "no finite MOS in data row 2"),
    (lambda t: t.loc.__setitem__((0, "image"), "absent.png"), "missing image file"),
    (lambda t: t.loc.__setitem__((5, "image"), ""), "no image path in data row 6"),
    (lambda t: t.__setitem__("mos", "50"), "different quality"),
    (lambda t: t.insert(4, "split", ["train", "test"] * 5), "use train or val"),
])
def test_bad_csv_gives_clear_errors(rows_csv, edit, message):
    with pytest.raises(InputError, match=message):
        read_rows(rewrite(rows_csv, edit))


def test_too_few_rows_and_unreadable_files(rows_csv, tmp_path):
    short = rows_csv.parent / "short.csv"  # beside the images, so only the row count is wrong
    short.write_text("\n".join(rows_csv.read_text().splitlines()[:4]) + "\n")
    with pytest.raises(InputError, match="3 row.*at least 5"):
        read_rows(short)
    with pytest.raises(InputError, match="does not exist"):
        read_rows(tmp_path / "nothing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="not a readable CSV"):
        read_rows(empty)


def test_split_is_four_to_one_per_subset_deterministic_and_keeps_groups(rows_csv):
    rows = read_rows(rows_csv)
    rows = pd.concat([rows] * 2, ignore_index=True)
    rows["group"] = [f"g{k % 10}" for k in range(len(rows))]  # each group has two rows
    split = split_rows(rows, 0.2, seed=0)
    assert (split["split"] == "val").sum() == 4
    assert split.groupby("group")["split"].nunique().max() == 1  # no group straddles the split
    assert (split[split["split"] == "val"]["subset"].value_counts() == 2).all()  # 2 per subset of 10
    assert split["split"].tolist() == split_rows(rows, 0.2, seed=0)["split"].tolist()
    assert split["split"].tolist() != split_rows(rows, 0.2, seed=1)["split"].tolist()


def test_split_column_is_used_and_checked(rows_csv):
    rows = read_rows(rows_csv)
    rows["split"] = ["val"] * 3 + ["train"] * 7
    assert split_rows(rows)["split"].tolist() == rows["split"].tolist()
    rows.loc[0, "split"] = None
    with pytest.raises(InputError, match="filled in 9 of 10"):
        split_rows(rows)
    rows["split"] = ["val"] * 2 + ["train"] * 8
    with pytest.raises(InputError, match="2 validation rows"):
        split_rows(rows)
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        split_rows(rows, 1.0)


def test_subset_map_files(tmp_path):
    json_file = tmp_path / "map.json"
    json_file.write_text(json.dumps({"mine": "GIHA"}))
    assert read_subset_map(json_file) == {"mine": "GIHA"}
    csv_file = tmp_path / "map.csv"
    csv_file.write_text("method,subset\nmine,NGIHA\n")
    assert read_subset_map(csv_file) == {"mine": "NGIHA"}
    csv_file.write_text("name,kind\nmine,NGIHA\n")
    with pytest.raises(InputError, match="method and subset"):
        read_subset_map(csv_file)
    json_file.write_text("[1, 2]")
    with pytest.raises(InputError, match="JSON object"):
        read_subset_map(json_file)
    assert read_subset_map(None) is None
