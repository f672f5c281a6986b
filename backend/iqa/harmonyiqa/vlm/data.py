"""Training rows of the HarmonyIQA VLM (paper 000): CSV files and rating campaigns of the portal.

A training set is a table with one row per harmonized image:

* ``image`` (or ``path``): the harmonized image; relative paths are resolved against the CSV's folder;
* ``reference`` (optional; required by FR mode): the real reference photo;
* ``mos``: its mean opinion score (any scale; campaign MOS are on Eq. 1's 0-100 scale);
* ``subset`` (optional): the evaluation subset, e.g. NGIHA / GIHA (Tables II-III report both);
* ``method`` (optional): the harmonization algorithm; maps to a subset when no ``subset`` is given;
* ``group`` (optional): the source composite; the validation split keeps a group on one side;
* ``split`` (optional): ``train`` / ``val`` to fix the split instead of drawing it.

:func:`rows_from_campaign` builds the same table from a rating campaign of the store through
:func:`backend.campaign_scores.campaign_scores`, the service the leaderboard uses: the raw ratings (flagged
annotators and gold items excluded) go through ITU-R BT.500 screening and Eq. 1 z-score MOS (Sec. II-C),
and each item's image and reference come from the store's media. The subset comes from a ``method -> subset``
mapping; by default the paper's (Sec. II-A, Table I): L&E, DoveNet, CDT, PCT and DucoNet are
non-generative (NGIHA), ObjectStitch, PHD, PHDiffusion and IC-Light generative (GIHA).

:func:`split_rows` draws the validation split the paper uses (4:1, Sec. IV-A) per subset, deterministically
from a hash of each row's group (or image file name), so a composite's versions never straddle the split
and the split does not change when the data set moves to another folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from backend.campaign_scores import campaign_scores
from backend.errors import InputError

MIN_ROWS = 5
MIN_VALIDATION_ROWS = 3
PAPER_SUBSETS = {
    "l&e": "NGIHA", "lalonde-efros": "NGIHA", "lalonde": "NGIHA", "dovenet": "NGIHA", "cdt": "NGIHA",
    "pct": "NGIHA", "pctnet": "NGIHA", "duconet": "NGIHA",
    "objectstitch": "GIHA", "phd": "GIHA", "phdiffusion": "GIHA", "phddiffusion": "GIHA", "ic-light": "GIHA",
    "iclight": "GIHA",
}
COLUMNS = "image, mos (optional reference, subset, method, group, split)"


def _clean_text(series: pd.Series) -> pd.Series:
    """Stripped strings, with None for empty or missing cells."""
    values = [None if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v) else str(v).strip()
              for v in series]
    return pd.Series([v or None for v in values], index=series.index, dtype=object)


def normalise_rows(table: pd.DataFrame, base: Path | None, what: str,
                   subset_map: Mapping[str, str] | None = None, check_files: bool = True) -> pd.DataFrame:
    """Validate a rows table; returns columns image, reference, mos, subset, method, group, split."""
    table = table.copy()
    table.columns = [str(c).strip().lower() for c in table.columns]
    if "image" not in table.columns and "path" in table.columns:
        table = table.rename(columns={"path": "image"})
    missing = [c for c in ("image", "mos") if c not in table.columns]
    if missing:
        raise InputError(f"{what} lacks column(s) {', '.join(missing)}; give columns {COLUMNS}.")
    if len(table) < MIN_ROWS:
        raise InputError(f"{what} has {len(table)} row(s); training needs at least {MIN_ROWS} rated images "
                         f"({MIN_VALIDATION_ROWS} or more of them for validation).")
    mos = pd.to_numeric(table["mos"], errors="coerce")
    bad = ~np.isfinite(mos.to_numpy(dtype=np.float64))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{what} has no finite MOS in data row {row + 1} ({table['mos'].iloc[row]!r}); "
                         "give every image a numeric mos.")
    if np.ptp(mos.to_numpy(dtype=np.float64)) == 0:
        raise InputError(f"Every MOS in {what} is {float(mos.iloc[0]):g}; a quality model needs images of different quality.")
    out = pd.DataFrame({"image": _clean_text(table["image"]), "mos": mos.astype(np.float64)})
    if out["image"].isna().any():
        row = int(np.flatnonzero(out["image"].isna())[0])
        raise InputError(f"{what} has no image path in data row {row + 1}; fill in every image.")
    for column in ("reference", "subset", "method", "group", "split"):
        out[column] = _clean_text(table[column]) if column in table.columns else None
    if out["subset"].isna().all() and out["method"].notna().any():
        out["subset"] = pd.Series([subset_for(m, subset_map) for m in out["method"]], index=out.index, dtype=object)
    if out["split"].notna().any():
        unknown = sorted(set(out["split"].dropna()) - {"train", "val"})
        if unknown:
            raise InputError(f"{what} has split value(s) {', '.join(unknown)}; use train or val (or leave it empty).")
    for column in ("image", "reference"):
        resolved = [None if p is None else str(p if Path(p).is_absolute() or base is None else base / p)
                    for p in out[column]]
        out[column] = pd.Series(resolved, dtype=object)
    if check_files:
        paths = [p for p in list(out["image"]) + list(out["reference"]) if p is not None]
        absent = [p for p in paths if not Path(p).is_file()]
        if absent:
            raise InputError(f"{what} names {len(absent)} missing image file(s), e.g. '{absent[0]}'; fix the paths.")
    return out


def read_rows(csv_path: str | Path, subset_map: Mapping[str, str] | None = None, check_files: bool = True) -> pd.DataFrame:
    """Read a training CSV (module docstring) with a clear InputError for every problem."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise InputError(f"The training file '{csv_path}' does not exist; give a CSV with columns {COLUMNS}.")
    try:
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"'{csv_path.name}' is not a readable CSV ({error}); give columns {COLUMNS}.") from error
    return normalise_rows(table, csv_path.resolve().parent, f"'{csv_path.name}'", subset_map, check_files)


def subset_for(method: str | None, subset_map: Mapping[str, str] | None = None) -> str | None:
    """The subset of a method: the given mapping first (exact, then case-insensitive), then the paper's."""
    if method is None:
        return None
    mapping = dict(subset_map or {})
    if method in mapping:
        return mapping[method]
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    key = method.strip().lower()
    return lowered.get(key, PAPER_SUBSETS.get(key))


def read_subset_map(path: str | Path | None) -> dict[str, str] | None:
    """A ``method -> subset`` mapping from a JSON object or a CSV with columns method, subset."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The subset mapping '{path}' does not exist; give a JSON object or a CSV method,subset.")
    if path.suffix.lower() == ".json":
        try:
            mapping = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise InputError(f"'{path.name}' is not valid JSON ({error}); give an object {{\"method\": \"subset\"}}.") from error
        if not isinstance(mapping, dict):
            raise InputError(f"'{path.name}' must hold a JSON object mapping each method to its subset.")
        return {str(k): str(v) for k, v in mapping.items()}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.columns = [str(c).strip().lower() for c in table.columns]
    if not {"method", "subset"} <= set(table.columns):
        raise InputError(f"'{path.name}' needs the columns method and subset.")
    return dict(zip(table["method"].str.strip(), table["subset"].str.strip(), strict=True))


def rows_from_campaign(name: str, db=None, subset_map: Mapping[str, str] | None = None, rule: str = "fraction",
                       screen: bool = True) -> tuple[pd.DataFrame, dict]:
    """Rows (image, reference, mos, subset, method, group) of a rating campaign and a summary of the MOS step."""
    scores = campaign_scores(name, db, kind="rating", screen=screen, rule=rule)
    table = scores.table
    rows = pd.DataFrame({
        "image": table["image"], "reference": table["reference"], "mos": table["human"], "method": table["method"],
        "group": table["group"], "item": table["item"], "n_ratings": table["n"],
    })
    rows["subset"] = pd.Series([subset_for(m, subset_map) for m in rows["method"]], dtype=object)
    summary = dict(scores.summary)
    checked = normalise_rows(rows.drop(columns=["item", "n_ratings"]), None, f"Campaign '{name}'", subset_map)
    checked["item"], checked["n_ratings"] = rows["item"].to_numpy(), rows["n_ratings"].to_numpy()
    return checked, summary


def _unit_hash(key: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_rows(rows: pd.DataFrame, val_fraction: float = 0.2, seed: int = 0) -> pd.DataFrame:
    """Add ``split`` (train/val): the given column if filled, else 4:1 per subset by hashed group (module docstring).

    The validation share is ``val_fraction`` of the rows (at least ``MIN_VALIDATION_ROWS``), divided among the
    subsets in proportion to their size; whole groups are moved until a subset's quota is reached.
    """
    if not 0 < val_fraction < 1:
        raise InputError(f"The validation fraction {val_fraction} must lie strictly between 0 and 1, e.g. 0.2.")
    rows = rows.copy()
    given = rows["split"].notna() if "split" in rows.columns else pd.Series(False, index=rows.index)
    if given.any() and not given.all():
        raise InputError(f"The split column is filled in {int(given.sum())} of {len(rows)} rows; fill it in every row "
                         "(train or val) or leave it empty everywhere.")
    if given.all():
        split = rows["split"].to_numpy(dtype=object)
    else:
        file_names = rows["image"].map(lambda path: Path(str(path)).name)  # not the folder: the split must not move
        keys = rows["group"].where(rows["group"].notna(), file_names) if "group" in rows.columns else file_names
        subsets = rows["subset"].fillna("") if "subset" in rows.columns else pd.Series([""] * len(rows))
        split = np.array(["train"] * len(rows), dtype=object)
        names = list(subsets.unique())
        sizes = np.array([(subsets == name).sum() for name in names], dtype=np.float64)
        total = max(MIN_VALIDATION_ROWS, int(round(val_fraction * len(rows))))
        shares = total * sizes / sizes.sum()
        quotas = np.floor(shares).astype(int)
        for k in np.argsort(-(shares - quotas))[: total - quotas.sum()]:  # largest remainders
            quotas[k] += 1
        for subset, wanted in zip(names, quotas, strict=True):
            members = np.flatnonzero(subsets.to_numpy() == subset)
            groups = sorted(set(keys.iloc[members]), key=lambda g: _unit_hash(str(g), seed))
            chosen, count = set(), 0
            for group in groups:
                if count >= wanted:
                    break
                chosen.add(group)
                count += int((keys.iloc[members] == group).sum())
            split[members[keys.iloc[members].isin(chosen).to_numpy()]] = "val"
    rows["split"] = split
    n_val, n_train = int((split == "val").sum()), int((split == "train").sum())
    if n_val < MIN_VALIDATION_ROWS or n_train < 2:
        raise InputError(f"The split gives {n_train} training and {n_val} validation rows; give more rows "
                         f"(at least {MIN_VALIDATION_ROWS} for validation, 2 for training) or change --val-fraction.")
    return rows
