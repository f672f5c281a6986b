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

from backend import registry
from backend.errors import InputError
from backend.images import load_image
from backend.iqa.dogiqa.offline import DEFAULT_SCORER
from backend.iqa.dogiqa.overlay import region_overlay
from backend.protocols import ScoreResult

MAX_IMAGES_PER_CALL = 200


def model_name(scorer: str | None = None) -> str:
    """The registry name of the Dog-IQA pipeline for a scorer name (module docstring)."""
    scorer = (scorer or DEFAULT_SCORER).strip()
    if scorer.startswith("vlm:"):
        return "dogiqa-vlm:" + scorer[len("vlm:"):]
    if scorer == "dogiqa-vlm" or scorer.startswith(("dogiqa-vlm:", "dogiqa:")):
        return scorer
    return f"dogiqa:{scorer}"


def get_model(scorer: str | None = None, **options: Any):
    """The Dog-IQA pipeline for a scorer name (module docstring) and options (k, formula, readout, ...);
    options the chosen pipeline does not take (e.g. ``device`` for the offline one) are dropped."""
    name = model_name(scorer)
    accepted = registry.options(name)
    return registry.create(name, **{key: value for key, value in options.items() if value is not None and key in accepted})


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

    if not files:
        raise InputError("No image was given; give at least one image to score.")
    images = [load_image(f, name=f"image '{Path(str(f)).name}'") for f in files]
    return [result for result, _ in analyse_arrays(images, scorer, **options)]


def inspect(image: Any, scorer: str | None = None, **options: Any) -> tuple[ScoreResult, np.ndarray]:
    """One image: its Dog-IQA result and the Fig. 5 overlay (numbered masks with their scores)."""

    if image is None:
        raise InputError("No image was given; upload an image to score.")
    pixels = load_image(image, name="image")
    result, regions = analyse_arrays([pixels], scorer, **options)[0]
    overlay = region_overlay(pixels, regions, [r["score"] for r in result.details["regions"]])
    return result, overlay
