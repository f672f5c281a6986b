"""Reading campaign manifests, gold-answer files and uploaded campaign archives.

Manifest (CSV with a header): ``path,group,method[,reference][,composite]``, one row per image to judge.
``path`` (and ``reference`` / ``composite``) are relative to the manifest's folder and must stay inside
it; ``group`` is what images are compared within (e.g. the source composite: paper 002 compares the
harmonized results of one composite); ``method`` labels the image (hidden from annotators). For rating
campaigns the optional ``composite`` and ``reference`` are shown next to the image (paper 000 Fig. 2b).

Gold file (optional, CSV, paths relative to it):
- pairwise campaigns: ``better,worse`` — a pair whose answer is known (``better`` must be chosen);
- rating campaigns: ``path,min_score,max_score[,reference][,composite]`` — an image whose score must
  fall in ``[min_score, max_score]``.
Gold images are stored as gold-only items, never served as ordinary pairs/items.

Archive upload (admin section of the tab): a ``.zip`` holding ``manifest.csv`` (at any depth; or the
only ``.csv`` that is not ``gold.csv``), optionally ``gold.csv`` next to it, and the images.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backend.errors import InputError

MANIFEST_REQUIRED = ("path", "group", "method")
MANIFEST_OPTIONAL = ("reference", "composite")
GOLD_PAIR_COLUMNS = ("better", "worse")
GOLD_RATING_REQUIRED = ("path", "min_score", "max_score")
GOLD_GROUP_PREFIX = "gold:"
MAX_ARCHIVE_BYTES = 4 * 1024**3
MAX_ARCHIVE_FILES = 100_000


@dataclass(frozen=True)
class ManifestRow:
    line: int  # line number in the CSV file (header = 1)
    path: Path
    source: str  # the path as written
    group: str
    method: str
    reference: Path | None = None
    composite: Path | None = None


@dataclass(frozen=True)
class GoldRow:
    line: int
    path: Path  # the better image (pairwise) or the image to rate
    other: Path | None = None  # the worse image (pairwise)
    min_score: int | None = None
    max_score: int | None = None
    reference: Path | None = None
    composite: Path | None = None


def read_table(path: Path | str, what: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV as a table of stripped strings with exactly the allowed columns (InputError otherwise)."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"The {what} '{file}' does not exist; give the path of a CSV file.")
    try:
        table = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as error:
        raise InputError(f"The {what} '{file.name}' is empty; it needs a header {','.join(required)}.") from error
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise InputError(f"The {what} '{file.name}' is not a readable CSV file ({error}); save it as UTF-8 CSV.") from error
    table.columns = [str(column).strip().lower() for column in table.columns]
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise InputError(f"The {what} '{file.name}' lacks column(s) {', '.join(missing)}; its header must be "
                         f"{','.join(required)}" + (f" (optionally {','.join(optional)})" if optional else "") + ".")
    unknown = [column for column in table.columns if column not in required + optional]
    if unknown:
        raise InputError(f"The {what} '{file.name}' has unknown column(s) {', '.join(unknown)}; allowed columns are "
                         f"{', '.join(required + optional)}.")
    if table.empty:
        raise InputError(f"The {what} '{file.name}' has a header but no rows; add one row per image.")
    return table.apply(lambda column: column.str.strip())


def _resolve(root: Path, value: str, file: Path, line: int, column: str, required: bool = True) -> Path | None:
    if not value:
        if required:
            raise InputError(f"Row {line} of '{file.name}' has an empty '{column}'; fill it in.")
        return None
    candidate = Path(value)
    resolved = (root / candidate).resolve()
    if candidate.is_absolute() or not resolved.is_relative_to(root):
        raise InputError(f"Row {line} of '{file.name}' names '{value}', outside the manifest's folder; give paths "
                         "relative to the manifest, inside its folder.")
    if not resolved.is_file():
        raise InputError(f"Row {line} of '{file.name}' names '{value}' in column '{column}', which does not exist "
                         f"in {root}; fix the path.")
    return resolved


def read_manifest(path: Path | str) -> list[ManifestRow]:
    """The rows of a campaign manifest, with paths resolved and checked (not yet decoded)."""
    file = Path(path)
    table = read_table(file, "manifest", MANIFEST_REQUIRED, MANIFEST_OPTIONAL)
    root = file.resolve().parent
    rows, seen = [], {}
    for index, record in enumerate(table.to_dict("records")):
        line = index + 2
        for column in ("group", "method"):
            if not record[column]:
                raise InputError(f"Row {line} of '{file.name}' has an empty '{column}'; fill it in.")
        if record["group"].startswith(GOLD_GROUP_PREFIX):
            raise InputError(f"Row {line} of '{file.name}' uses group '{record['group']}'; names starting with "
                             f"'{GOLD_GROUP_PREFIX}' are reserved for gold items, rename the group.")
        key = (record["group"], record["method"])
        if key in seen:
            raise InputError(f"Rows {seen[key]} and {line} of '{file.name}' both give method '{key[1]}' for group "
                             f"'{key[0]}'; each group has one image per method.")
        seen[key] = line
        rows.append(ManifestRow(
            line=line, path=_resolve(root, record["path"], file, line, "path"), source=record["path"],
            group=record["group"], method=record["method"],
            reference=_resolve(root, record.get("reference", ""), file, line, "reference", required=False),
            composite=_resolve(root, record.get("composite", ""), file, line, "composite", required=False),
        ))
    return rows


def _score(value: str, file: Path, line: int, column: str) -> int:
    if value not in ("1", "2", "3", "4", "5"):
        raise InputError(f"Row {line} of '{file.name}' has {column} '{value}'; give a whole number from 1 to 5.")
    return int(value)


def read_gold(path: Path | str, kind: str) -> list[GoldRow]:
    """The known answers of a gold file for a ``pairwise`` or ``rating`` campaign."""
    file = Path(path)
    root = file.resolve().parent
    if kind == "pairwise":
        table = read_table(file, "gold file", GOLD_PAIR_COLUMNS)
        rows = []
        for index, record in enumerate(table.to_dict("records")):
            line = index + 2
            better = _resolve(root, record["better"], file, line, "better")
            worse = _resolve(root, record["worse"], file, line, "worse")
            rows.append(GoldRow(line, better, other=worse))
        return rows
    table = read_table(file, "gold file", GOLD_RATING_REQUIRED, MANIFEST_OPTIONAL)
    rows = []
    for index, record in enumerate(table.to_dict("records")):
        line = index + 2
        low, high = _score(record["min_score"], file, line, "min_score"), _score(record["max_score"], file, line, "max_score")
        if low > high:
            raise InputError(f"Row {line} of '{file.name}' has min_score {low} above max_score {high}; swap them.")
        rows.append(GoldRow(line, _resolve(root, record["path"], file, line, "path"), min_score=low, max_score=high,
                            reference=_resolve(root, record.get("reference", ""), file, line, "reference", False),
                            composite=_resolve(root, record.get("composite", ""), file, line, "composite", False)))
    return rows


def extract_archive(archive: Path | str, destination: Path) -> tuple[Path, Path | None]:
    """Unpack an uploaded campaign ``.zip`` safely; return its manifest and gold file (or None)."""
    file = Path(archive)
    if not zipfile.is_zipfile(file):
        raise InputError(f"'{file.name}' is not a .zip archive; upload a .zip holding manifest.csv and the images.")
    root = destination.resolve()
    with zipfile.ZipFile(file) as bundle:
        members = [m for m in bundle.infolist() if not m.is_dir()]
        if len(members) > MAX_ARCHIVE_FILES or sum(m.file_size for m in members) > MAX_ARCHIVE_BYTES:
            raise InputError(f"'{file.name}' unpacks to more than {MAX_ARCHIVE_FILES} files or "
                             f"{MAX_ARCHIVE_BYTES // 1024**3} GB; split the campaign.")
        for member in members:
            target = (root / member.filename).resolve()
            if not target.is_relative_to(root):
                raise InputError(f"'{file.name}' holds '{member.filename}', which points outside the archive; "
                                 "rebuild the archive with relative paths.")
        bundle.extractall(root)
    csvs = [p for p in root.rglob("*.csv") if "__MACOSX" not in p.parts]
    manifests = [p for p in csvs if p.name.lower() == "manifest.csv"] or [p for p in csvs if p.name.lower() != "gold.csv"]
    if len(manifests) != 1:
        raise InputError(f"'{file.name}' must hold exactly one manifest.csv (found {len(manifests)} candidate CSV "
                         "files); put one manifest.csv next to the images.")
    gold = manifests[0].with_name("gold.csv")
    return manifests[0], gold if gold.is_file() else None
