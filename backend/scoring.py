"""Scoring service: the Score tab, ``/score`` and ``python -m backend score`` all call :func:`score_images`.

Inputs are named images (file names matter: references are matched to images by file name when every
image has a reference of the same name, otherwise by order), a list of registry model names and an optional
foreground mask for the mask-aware metrics, and optionally the name of a saved PromptIQA prompt (paper 004)
for the models that score under an image-score-pair prompt. The result is a long table ``image, model,
score`` with the model's direction and the reference used, one row per (image, model); a prompt model's
rows are named ``MODEL[PROMPT]`` and are in the prompt's own score scale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend import registry
from backend.errors import InputError
from backend.images import load_image, load_mask

MAX_IMAGES_PER_CALL = 500
RESULT_COLUMNS = ["image", "model", "score", "lower_better", "reference", "seconds"]


@dataclass
class NamedImage:
    name: str
    pixels: np.ndarray


def display_name(source: Any, index: int) -> str:
    if isinstance(source, dict) and "path" in source:
        source = source.get("orig_name") or source["path"]
    if isinstance(source, (str, Path)):
        return Path(source).name
    return f"image_{index + 1}"


def load_named(sources: Sequence[Any], kind: str = "image") -> list[NamedImage]:
    """Decode a list of sources, naming each by its file name (or its position)."""
    named = []
    for index, source in enumerate(sources):
        name = display_name(source, index)
        named.append(NamedImage(name, load_image(source, name=f"{kind} '{name}'")))
    return named


def match_references(images: list[NamedImage], references: list[NamedImage]) -> list[NamedImage | None]:
    """Pair each image with its reference: by identical file name, else by order (same count)."""
    if not references:
        return [None] * len(images)
    by_name = {ref.name: ref for ref in references}
    if all(image.name in by_name for image in images):
        return [by_name[image.name] for image in images]
    if len(references) == len(images):
        return list(references)
    if len(references) == 1:
        return [references[0]] * len(images)
    raise InputError(
        f"There are {len(images)} images and {len(references)} references, and their file names do not match; "
        "give one reference per image, in the same order or with the same file names."
    )


def _check_models(model_names: Sequence[str], has_references: bool, has_mask: bool,
                  has_prompt: bool = False) -> list[registry.ModelCard]:
    if not model_names:
        raise InputError("No model was chosen; pick at least one model to score with.")
    cards = []
    for name in model_names:
        card = registry.card(name)
        if card.task not in ("iqa-fr", "iqa-nr"):
            raise InputError(f"'{name}' is a {card.task} model, not an image-quality model; pick an IQA model.")
        if card.needs_prompt and not has_prompt:
            raise InputError(f"'{name}' scores under an image-score prompt: choose a saved prompt (build and save "
                             "one in the PromptIQA tab), or pick another model.")
        if card.full_reference and not has_references:
            raise InputError(f"'{name}' is a full-reference metric: add reference images, or pick a no-reference model.")
        if card.needs_mask and not has_mask:
            raise InputError(f"'{name}' measures the foreground: add the foreground mask, or pick another model.")
        cards.append(card)
    return cards


def score_images(
    images: Sequence[Any],
    model_names: Sequence[str],
    references: Sequence[Any] | None = None,
    mask: Any = None,
    progress: Callable[[float, str], None] | None = None,
    prompt: str | None = None,
) -> pd.DataFrame:
    """Score every image with every model; returns the long result table (see module docstring).

    ``prompt`` names a saved PromptIQA prompt; it is needed by (and only used for) ``needs_prompt`` models.
    """
    if not images:
        raise InputError("No image was given; upload at least one image to score.")
    if len(images) > MAX_IMAGES_PER_CALL:
        raise InputError(f"{len(images)} images were given; score at most {MAX_IMAGES_PER_CALL} per call.")
    prompt = (prompt or "").strip() or None
    cards = _check_models(model_names, bool(references), mask is not None, prompt is not None)
    saved_prompt = _load_saved_prompt(prompt) if any(card.needs_prompt for card in cards) else None
    named = load_named(images)
    refs = match_references(named, load_named(references or [], kind="reference"))
    mask_array = None
    if mask is not None:
        mask_array = load_mask(mask, shape=named[0].pixels.shape[:2])
    rows = []
    total = len(cards) * len(named)
    for model_index, card in enumerate(cards):
        model = registry.create(card.name)
        if card.needs_prompt:
            if progress is not None:
                progress(model_index * len(named) / total, f"{card.name} under the prompt '{prompt}'")
            rows.extend(_prompt_rows(card, model, named, saved_prompt, prompt))
            continue
        for image_index, (image, ref) in enumerate(zip(named, refs, strict=True)):
            if progress is not None:
                progress((model_index * len(named) + image_index) / total, f"{card.name} on {image.name}")
            use_ref = ref if card.full_reference else None
            image_mask = None
            if card.needs_mask:
                image_mask = load_mask(mask_array, shape=image.pixels.shape[:2])
            start = time.perf_counter()
            result = model.score(image.pixels, None if use_ref is None else use_ref.pixels, image_mask)
            seconds = time.perf_counter() - start
            if not np.isfinite(result.score):
                raise InputError(f"'{card.name}' gave a non-finite score for {image.name}; this metric cannot rate that image.")
            rows.append([image.name, card.name, float(result.score), card.lower_better,
                         "" if use_ref is None else use_ref.name, seconds])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _load_saved_prompt(name: str):
    from backend.iqa.promptiqa.service import load_prompt

    return load_prompt(name)


def _prompt_rows(card: registry.ModelCard, model: Any, named: list[NamedImage], saved_prompt: Any,
                 prompt_name: str) -> list[list]:
    """Rows of a prompt model: all images scored in one batch under the saved prompt (paper 004 Sec. 3.2)."""
    start = time.perf_counter()
    scores = np.asarray(model.score_images([image.pixels for image in named], saved_prompt), dtype=np.float64)
    seconds = (time.perf_counter() - start) / len(named)
    if not np.all(np.isfinite(scores)):
        raise InputError(f"'{card.name}' gave a non-finite score under the prompt '{prompt_name}'; check the prompt's scores.")
    label = f"{card.name}[{prompt_name}]"
    return [[image.name, label, float(score), False, "", seconds] for image, score in zip(named, scores, strict=True)]


def wide_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per image, one column per model (for display)."""
    if results.empty:
        return pd.DataFrame(columns=["image"])
    wide = results.pivot_table(index="image", columns="model", values="score", sort=False).reset_index()
    wide.columns.name = None
    return wide
