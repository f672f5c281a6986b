"""Compare2Score service: the tab, ``/compare2score`` and the CLI call these (paper 001 Sec. 3.4).

Comparator names: any registry ``comparator`` (``c2s-siamese``, ``q-future-compare2score``, ...), including
the parameterised forms the registry parses: ``nr-thurstone:<iqa-nr model>`` and
``vlm:<hub id or folder>[@revision]``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from backend import registry
from backend.errors import InputError
from backend.images import load_image
from backend.iqa.compare2score.anchors import AnchorSet, load_anchor_set
from backend.iqa.compare2score.comparators import Comparator
from backend.iqa.compare2score.scoring import score_images
from backend.protocols import ScoreResult

MAX_IMAGES_PER_CALL = 500
_anchor_sets: dict[tuple, AnchorSet] = {}
_anchor_lock = threading.Lock()


def get_comparator(name: str, **options: Any) -> Comparator:
    """A comparator by name (module docstring); unknown names raise InputError listing the choices.

    Options the comparator does not take (e.g. ``trust_remote_code`` for the siamese one) are dropped, so
    callers can pass the same options whatever comparator the user picked.
    """
    if not name or not name.strip():
        raise InputError("No comparator was chosen; pick one (python -m backend models --task comparator).")
    family = name.strip().partition(":")[0]
    if family not in {card.name for card in registry.list_models()}:
        known = ", ".join(c.name for c in registry.list_models("comparator"))
        raise InputError(f"Unknown comparator '{name}'. Comparators: {known}, nr-thurstone:<NR model>, "
                         "vlm:<hub id>[@revision].")
    card = registry.card(name)
    if card.task != "comparator":
        hint = f" (use nr-thurstone:{name} to compare with it)" if card.task == "iqa-nr" else ""
        raise InputError(f"'{name}' is a {card.task} model, not a comparator{hint}.")
    accepted = registry.options(name)
    return registry.create(name, **{key: value for key, value in options.items() if key in accepted})


def get_anchors(location: str | Path | None = None) -> AnchorSet:
    """An anchor set (default set when ``None``), cached per path and modification time."""
    path = Path(location) if location else None
    stamp = None
    if path is not None and path.exists():
        target = path / "anchors.csv" if path.is_dir() else path
        stamp = target.stat().st_mtime_ns if target.exists() else None
    key = (str(path.resolve()) if path else None, stamp)
    with _anchor_lock:
        cached = _anchor_sets.get(key)
    if cached is None:
        cached = load_anchor_set(path)
        with _anchor_lock:
            _anchor_sets[key] = cached
    return cached


def score_arrays(images: Sequence[Any], comparator: str, anchors: str | Path | AnchorSet | None = None,
                 matrix: str = "probability", normalisation: str = "mos", both_orders: bool = False,
                 comparator_options: dict | None = None,
                 progress: Callable[[int, int], None] | None = None) -> list[ScoreResult]:
    if len(images) > MAX_IMAGES_PER_CALL:
        raise InputError(f"{len(images)} images were given; score at most {MAX_IMAGES_PER_CALL} per call.")
    anchor_set = anchors if isinstance(anchors, AnchorSet) else get_anchors(anchors)
    model = get_comparator(comparator, **(comparator_options or {}))
    results = score_images(model, anchor_set, list(images), matrix=matrix, normalisation=normalisation,
                           both_orders=both_orders, progress=progress)
    for index, result in enumerate(results):  # a result is never NaN (issue #20): say why instead
        if not math.isfinite(result.score):
            raise InputError(f"Compare2Score found no finite score for image {index + 1} with '{comparator}' "
                             "against these anchors; try other anchors or another comparator.")
    return results


def score_files(files: Sequence[Any], comparator: str, **options: Any) -> list[ScoreResult]:
    """Decode files (``backend.images.load_image``) and score them with :func:`score_arrays`."""
    if not files:
        raise InputError("No image was given; give at least one image to score.")
    images = [load_image(f, name=f"image '{Path(str(f)).name}'") for f in files]
    return score_arrays(images, comparator, **options)
