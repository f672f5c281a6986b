"""Reading harmonization data sets in the iHarmony4 layout: ``composite/``, ``mask/``, ``real/`` with matching
file names (what ``scripts/build_harmonization_sets.py`` writes and ``harmonization eval`` reads)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.errors import InputError
from backend.images import load_image, load_mask

FOLDERS = ("composite", "mask", "real")
SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass
class Triple:
    name: str
    composite: np.ndarray
    mask: np.ndarray
    real: np.ndarray


def _by_stem(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in SUFFIXES and p.is_file()}


def list_triples(root: str | Path) -> list[tuple[str, Path, Path, Path]]:
    """(name, composite, mask, real) paths matched by file name (stem); raises InputError when unusable."""
    root = Path(root)
    missing = [f for f in FOLDERS if not (root / f).is_dir()]
    if missing:
        raise InputError(f"The data folder '{root}' lacks {', '.join(f + '/' for f in missing)}; it must hold "
                         "composite/, mask/ and real/ with matching file names.")
    composites, masks, reals = (_by_stem(root / f) for f in FOLDERS)
    names = sorted(set(composites) & set(masks) & set(reals))
    if not names:
        raise InputError(f"No file name appears in all of composite/, mask/ and real/ under '{root}'; "
                         "give each triple the same name.")
    return [(n, composites[n], masks[n], reals[n]) for n in names]


def read_triples(root: str | Path, limit: int | None = None) -> Iterator[Triple]:
    for name, comp, mask, real in list_triples(root)[:limit]:
        composite = load_image(comp, name=f"composite '{comp.name}'")
        real_image = load_image(real, name=f"real image '{real.name}'")
        if real_image.shape != composite.shape:
            raise InputError(f"The real image '{real.name}' is not the size of its composite; give matching sizes.")
        yield Triple(name, composite, load_mask(mask, shape=composite.shape[:2], name=f"mask '{mask.name}'"), real_image)
