"""Scored sets: CSV files of images with a MOS and its standard deviation (paper 001 Sec. 3.2, 3.4).

A scored set is what Eq. 2 (comparative labels), Eq. 4 (anchor selection) and the training of
comparators read. Columns: ``path`` (or ``image``), ``mos``, ``mos_std`` (or ``std``); any other columns
are kept. Relative paths are resolved against the CSV's folder. An annotation campaign exports the same
format; ``scripts/build_distorted_photos.py`` writes one from distorted real photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from backend.errors import InputError

PATH_COLUMNS = ("path", "image")
STD_COLUMNS = ("mos_std", "std")


def uploaded_file_names(files: Sequence[str | Path]) -> dict[str, str]:
    """Uploaded files by their file name (what a CSV's path column is matched against, issue #20); two
    uploads of one name are refused, since a row could not say which it means."""
    named: dict[str, str] = {}
    for file in files:
        name = Path(str(file)).name
        if name in named:
            raise InputError(f"Two uploaded files are called '{name[:100]}'; rename one, since the CSV names "
                             "images by file name.")
        named[name] = str(file)
    return named


def csv_file_name(entry: object) -> str:
    """The file name an entry of a CSV's path column refers to (``a/b.png`` and ``C:\\x\\b.png`` -> ``b.png``)."""
    return str(entry).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def read_csv_file(csv_path: str | Path, columns: str, max_rows: int | None = None) -> pd.DataFrame:
    """Read a user's CSV file (its first ``max_rows`` rows when given); InputError naming the expected
    ``columns`` when it is missing or unreadable. Messages name the file by its name only."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise InputError(f"The file '{csv_path.name}' does not exist; give a CSV with columns {columns}.")
    try:
        return pd.read_csv(csv_path, nrows=max_rows)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"'{csv_path.name}' is not a readable CSV ({str(error)[:120]}); give columns {columns}.") from error


def read_scored_set(csv_path: str | Path, require_std: bool = True, check_files: bool = True,
                    max_rows: int | None = None) -> pd.DataFrame:
    """Read and validate a scored set; returns columns ``path`` (absolute), ``mos``, ``mos_std`` and the rest."""
    csv_path = Path(csv_path)
    table = read_csv_file(csv_path, "path, mos, mos_std", max_rows)
    return normalise_scored_table(table, csv_path.parent, f"'{csv_path.name}'", require_std, check_files)


def normalise_scored_table(table: pd.DataFrame, base: Path, what: str = "the scored set",
                           require_std: bool = True, check_files: bool = True) -> pd.DataFrame:
    table = table.copy()
    path_column = next((c for c in PATH_COLUMNS if c in table.columns), None)
    if path_column is None:
        raise InputError(f"{what} has no 'path' column; give one image path per row with its mos and mos_std.")
    if "mos" not in table.columns:
        raise InputError(f"{what} has no 'mos' column; every image needs its mean opinion score.")
    std_column = next((c for c in STD_COLUMNS if c in table.columns), None)
    if std_column is None and require_std:
        raise InputError(f"{what} has no 'mos_std' column; Eq. 2 and Eq. 4 need the standard deviation of each MOS.")
    table = table.rename(columns={path_column: "path", **({std_column: "mos_std"} if std_column else {})})
    table["mos"] = pd.to_numeric(table["mos"], errors="coerce")
    if not np.isfinite(table["mos"].to_numpy(np.float64)).all():
        row = int(np.flatnonzero(~np.isfinite(table["mos"].to_numpy(np.float64)))[0])
        raise InputError(f"{what} has no finite numeric MOS in row {row + 1}; fill in every mos value.")
    if "mos_std" in table.columns:
        table["mos_std"] = pd.to_numeric(table["mos_std"], errors="coerce")
        bad = ~np.isfinite(table["mos_std"].to_numpy(np.float64)) | (table["mos_std"] < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{what} has a missing or negative mos_std in row {row + 1}; give a standard deviation >= 0.")
    table["path"] = [str(p if Path(p).is_absolute() else (base / p)) for p in table["path"].astype(str)]
    if check_files:
        missing = [p for p in table["path"] if not Path(p).is_file()]
        if missing:
            raise InputError(f"{what} names {len(missing)} missing image file(s), e.g. '{Path(missing[0]).name}'; "
                             "fix the paths.")
    return table.reset_index(drop=True)
