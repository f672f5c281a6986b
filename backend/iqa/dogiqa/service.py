"""Dog-IQA service: the Dog-IQA view, ``/dogiqa`` and ``python -m backend dogiqa`` call these (paper 003).

Scorer names: any calibrated registry no-reference model (``compare2score``, ``piqe``, ...; offline,
through the ``dogiqa`` card), ``dogiqa-vlm`` (the default VLM at its pinned revision) or
``vlm:<hub id or folder>[@revision]`` (any transformers image-text-to-text model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backend.errors import InputError
from backend.iqa.base import ScoreResult
from backend.iqa.dogiqa.offline import DEFAULT_SCORER

MAX_IMAGES_PER_CALL = 200
VLM_OPTIONS = ("trust_remote_code", "device", "batch_size")


def get_model(scorer: str | None = None, **options: Any):
    """The Dog-IQA pipeline for a scorer name (module docstring) and options (k, formula, readout, ...)."""
    from backend import registry

    options = {key: value for key, value in options.items() if value is not None}
    scorer = (scorer or DEFAULT_SCORER).strip()
    if scorer.startswith("vlm:"):
        model_id, _, revision = scorer.split(":", 1)[1].partition("@")
        if not model_id:
            raise InputError("Name the VLM: vlm:<hub id or folder>[@revision].")
        return registry.create("dogiqa-vlm", model_id=model_id, revision=revision or None, **options)
    if scorer == "dogiqa-vlm":
        return registry.create("dogiqa-vlm", **options)
    for key in VLM_OPTIONS:
        options.pop(key, None)
    return registry.create("dogiqa", scorer=scorer, **options)


def analyse_arrays(images: Sequence[np.ndarray], scorer: str | None = None,
                   progress: Callable[[int, int], None] | None = None, **options: Any) -> list[tuple[ScoreResult, list]]:
    """(result, regions) per image."""
    if not images:
        raise InputError("No image was given; give at least one image to score.")
    if len(images) > MAX_IMAGES_PER_CALL:
        raise InputError(f"{len(images)} images were given; score at most {MAX_IMAGES_PER_CALL} per call.")
    model = get_model(scorer, **options)
    out = []
    for index, image in enumerate(images):
        out.append(model.analyse(image))
        if progress:
            progress(index + 1, len(images))
    return out


def score_files(files: Sequence[Any], scorer: str | None = None, **options: Any) -> list[ScoreResult]:
    """Decode files (``backend.images.load_image``) and score each with Dog-IQA."""
    from backend.images import load_image

    if not files:
        raise InputError("No image was given; give at least one image to score.")
    images = [load_image(f, name=f"image '{Path(str(f)).name}'") for f in files]
    return [result for result, _ in analyse_arrays(images, scorer, **options)]


def inspect(image: Any, scorer: str | None = None, **options: Any) -> tuple[ScoreResult, np.ndarray]:
    """One image: its Dog-IQA result and the Fig. 5 overlay (numbered masks with their scores)."""
    from backend.images import load_image
    from backend.iqa.dogiqa.overlay import region_overlay

    if image is None:
        raise InputError("No image was given; upload an image to score.")
    pixels = load_image(image, name="image")
    result, regions = analyse_arrays([pixels], scorer, **options)[0]
    overlay = region_overlay(pixels, regions, [r["score"] for r in result.details["regions"]])
    return result, overlay
