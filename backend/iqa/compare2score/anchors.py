"""Anchor images: Eq. 4 selection from a scored set, and anchor sets on disk (paper 001 Sec. 3.4).

Eq. 4: split the scored set into ``alpha`` MOS intervals and keep, in each, the ``beta`` images with the
smallest MOS variance (ties: nearest to the interval centre, then by the SHA-256 of the path -- a
deterministic choice that does not favour file names early in the alphabet). Intervals are half-open ``[lo, hi)`` (the last one closed) and equal-width over the observed MOS range by default -- the reading that
fits the paper's KonIQ anchors (MOS 1.09, 2.02, 2.96, 3.21, 4.01: 2.96 and 3.21 fall in different
equal-width intervals of [1.09, 4.3]); ``intervals="quantile"`` uses equal-count intervals instead. An
empty interval contributes no anchor.

An anchor set is a folder with ``anchors.csv`` (``path, mos, mos_std`` and provenance columns; paths
relative to the folder) and the images, or such a CSV anywhere. ``assets/anchors/default`` ships the
default set (how it was built: its ``README.md`` and ``anchors.json``). Compare2Score needs at least two
anchors, each with a MOS.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backend.data.scored_set import csv_file_name, read_scored_set, uploaded_file_names
from backend.errors import InputError
from backend.images import content_hash, load_image
from backend.weights import ASSETS_DIR

DEFAULT_ANCHORS = ASSETS_DIR / "anchors" / "default"
INTERVAL_MODES = ("equal-width", "quantile")


def select_anchors(table: pd.DataFrame, alpha: int = 5, beta: int = 1, intervals: str = "equal-width") -> pd.DataFrame:
    """Eq. 4 on a scored table (columns path, mos, mos_std): the chosen rows with their ``interval``."""
    if alpha < 1 or beta < 1:
        raise InputError("Anchor selection needs alpha >= 1 intervals and beta >= 1 image per interval.")
    if intervals not in INTERVAL_MODES:
        raise InputError(f"Unknown interval mode '{intervals}'; use one of {', '.join(INTERVAL_MODES)}.")
    if "mos_std" not in table.columns:
        raise InputError("Anchor selection (Eq. 4) needs the standard deviation of each MOS (column mos_std).")
    mos = table["mos"].to_numpy(dtype=np.float64)
    if intervals == "equal-width":
        edges = np.linspace(mos.min(), mos.max(), alpha + 1)
        width = max((mos.max() - mos.min()) / alpha, 1e-12)
        # floor with a tolerance: a MOS on an edge (common with discrete scales) opens the upper interval
        interval = np.clip(np.floor((mos - mos.min()) / width + 1e-9).astype(int), 0, alpha - 1)
    else:
        edges = np.quantile(mos, np.linspace(0, 1, alpha + 1))
        interval = np.clip(np.searchsorted(edges, mos, side="right") - 1, 0, alpha - 1)
    centre = (edges[interval] + edges[interval + 1]) / 2
    tiebreak = [hashlib.sha256(str(p).encode()).hexdigest() for p in table["path"]]
    ranked = table.assign(interval=interval, _variance=np.round(table["mos_std"].to_numpy(float) ** 2, 12),
                          _offcentre=np.round(np.abs(mos - centre), 12), _tiebreak=tiebreak)
    ranked = ranked.sort_values(["interval", "_variance", "_offcentre", "_tiebreak"], kind="mergesort")
    chosen = ranked.groupby("interval", sort=True).head(beta)
    return chosen.drop(columns=["_variance", "_offcentre", "_tiebreak"]).sort_values("mos", kind="mergesort").reset_index(drop=True)


@dataclass
class AnchorSet:
    """Anchor images (RGB uint8) with their MOS, ascending by MOS."""

    names: list[str]
    images: list[np.ndarray]
    mos: np.ndarray
    mos_std: np.ndarray
    source: str = ""
    paths: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.images) < 2:
            raise InputError(f"Compare2Score needs at least two anchor images (got {len(self.images)}); add anchors.")
        if len(self.mos) != len(self.images) or not np.all(np.isfinite(self.mos)):
            raise InputError("Every anchor image needs a numeric MOS; fill in the mos column of the anchor set.")
        if np.ptp(self.mos) <= 0:
            raise InputError("All anchors have the same MOS, so they define no scale; pick anchors of different quality.")
        if not np.isfinite(np.ptp(self.mos)):
            raise InputError(f"The anchors' MOS span {self.mos.min():g} to {self.mos.max():g}, too wide a range to "
                             "compute with; give MOS on an ordinary scale (e.g. 1-5 or 0-100).")

    @property
    def key(self) -> str:
        """Content address of the set (pixels and MOS), for the anchor-matrix cache."""

        digest = hashlib.sha256()
        for image, mos in zip(self.images, self.mos, strict=True):
            digest.update(content_hash(image).encode() + f"|{mos:.6g}|".encode())
        return digest.hexdigest()[:24]

    def __len__(self) -> int:
        return len(self.images)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"anchor": self.names, "mos": self.mos, "mos_std": self.mos_std})


def anchor_set_from_arrays(images: list[np.ndarray], mos, mos_std=None, names: list[str] | None = None,
                           source: str = "arrays") -> AnchorSet:
    """An anchor set from decoded images and their MOS (sorted ascending by MOS)."""
    if len(images) < 2:
        raise InputError(f"Compare2Score needs at least two anchor images (got {len(images)}); add anchors.")
    mos = np.asarray([np.nan if m is None else m for m in np.ravel(mos)], dtype=np.float64)
    if len(mos) != len(images):
        raise InputError(f"Got {len(images)} anchor images but {len(mos)} MOS values; give one MOS per anchor.")
    std = np.zeros_like(mos) if mos_std is None else np.asarray(mos_std, dtype=np.float64).ravel()
    names = list(names) if names else [f"anchor_{k + 1}" for k in range(len(images))]
    order = np.argsort(np.nan_to_num(mos, nan=np.inf), kind="mergesort")
    return AnchorSet([names[k] for k in order], [images[k] for k in order], mos[order], std[order], source)


def load_anchor_set(location: str | Path | None = None) -> AnchorSet:
    """An anchor set from a folder (with ``anchors.csv``) or a CSV; ``None`` is the default set."""

    path = Path(location) if location is not None else DEFAULT_ANCHORS
    csv_path = path / "anchors.csv" if path.is_dir() else path
    if path.is_dir() and not csv_path.is_file():
        raise InputError(f"The anchor folder '{path}' has no anchors.csv; add one with columns path, mos, mos_std.")
    if not csv_path.exists():
        raise InputError(f"The anchor set '{path}' does not exist; give a folder with anchors.csv or a CSV file.")
    table = read_scored_set(csv_path, require_std=False)
    if len(table) < 2:
        raise InputError(f"Compare2Score needs at least two anchor images; '{csv_path.name}' lists {len(table)}.")
    std = table["mos_std"].to_numpy(float) if "mos_std" in table.columns else np.zeros(len(table))
    images = [load_image(p, name=f"anchor '{Path(p).name}'") for p in table["path"]]
    names = [Path(p).name for p in table["path"]]
    anchors = anchor_set_from_arrays(images, table["mos"].to_numpy(float), std, names, source=str(path))
    order = np.argsort(table["mos"].to_numpy(float), kind="mergesort")
    anchors.paths = [str(table["path"].iloc[k]) for k in order]
    return anchors


MAX_UPLOADED_ANCHORS = 50


def anchor_set_from_files(files: Sequence[str | Path]) -> AnchorSet:
    """An anchor set from uploaded files only: ``anchors.csv`` (or the one CSV among them) and the images
    its ``path`` column names, matched by file name. No other file is read, whatever the CSV says, and
    messages name the uploads by their file names (issue #20)."""
    uploads = uploaded_file_names(files)
    csvs = [name for name in uploads if name.lower().endswith(".csv")]
    csv_name = "anchors.csv" if "anchors.csv" in uploads else (csvs[0] if len(csvs) == 1 else None)
    if csv_name is None:
        raise InputError("Upload anchors.csv (columns path, mos, mos_std) together with the anchor images"
                         + (f"; found {len(csvs)} CSV files, name the anchor one anchors.csv." if csvs else "."))
    table = read_scored_set(uploads[csv_name], require_std=False, check_files=False,
                            max_rows=MAX_UPLOADED_ANCHORS + 1)
    if len(table) > MAX_UPLOADED_ANCHORS:
        raise InputError(f"'{csv_name}' lists more than {MAX_UPLOADED_ANCHORS} anchors; use at most "
                         f"{MAX_UPLOADED_ANCHORS} (the paper uses 5).")
    if len(table) < 2:
        raise InputError(f"Compare2Score needs at least two anchor images; '{csv_name}' lists {len(table)}.")
    names = [csv_file_name(entry) for entry in table["path"]]
    missing = [name for name in names if name not in uploads or name == csv_name]
    if missing:
        raise InputError(f"'{csv_name}' names {len(missing)} image(s) that were not uploaded with it, e.g. "
                         f"'{missing[0]}'; upload every anchor image together with the CSV.")
    std = table["mos_std"].to_numpy(float) if "mos_std" in table.columns else np.zeros(len(table))
    images = [load_image(uploads[name], name=f"anchor '{name}'") for name in names]
    return anchor_set_from_arrays(images, table["mos"].to_numpy(float), std, names, source=f"uploaded {csv_name}")


def write_anchor_set(chosen: pd.DataFrame, out: str | Path, provenance: dict) -> Path:
    """Copy the chosen images into ``out`` with ``anchors.csv`` and ``anchors.json`` (provenance)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for rank, row in enumerate(chosen.itertuples(index=False), start=1):
        source = Path(row.path)
        target = out / f"anchor_{rank}{source.suffix.lower()}"
        shutil.copyfile(source, target)
        extra = {k: getattr(row, k) for k in ("distortion", "level", "photo") if hasattr(row, k)}
        rows.append({"path": target.name, "mos": row.mos, "mos_std": row.mos_std, "interval": row.interval,
                     "source": source.name, **extra})
    pd.DataFrame(rows).to_csv(out / "anchors.csv", index=False, float_format="%.4f")
    (out / "anchors.json").write_text(json.dumps({**provenance, "anchors": rows}, indent=2, default=str))
    return out
