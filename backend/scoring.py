"""Scoring service: the Score tab, ``/score`` and ``python -m backend score`` all call :func:`score_images`.

Inputs are named images (file names matter: references are matched to images by file name when every
image has a reference of the same name, otherwise by order), a list of registry model names and an optional
foreground mask for the mask-aware metrics, and optionally the name of a saved PromptIQA prompt (paper 004)
for the models that score under an image-score-pair prompt. The result is a long table ``image, model,
score`` with the model's direction and the reference used, one row per (image, model); a prompt model's
rows are named ``MODEL[PROMPT]`` and are in the prompt's own score scale.

Images of one size are scored together, up to ``BATCH_SIZE`` per call of a model's ``score_batch`` (a
classical metric computes a whole batch in one pass); ``seconds`` is then the batch's time per image.
Mask-aware models score one image at a time with the mask. ``progress(fraction, text)`` is called before
every batch.
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
from backend.store.prompts import load_prompt

MAX_IMAGES_PER_CALL = 500
BATCH_SIZE = 32  # images of one size scored in one call of a model's score_batch
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
    saved_prompt = load_prompt(prompt) if any(card.needs_prompt for card in cards) else None
    named = load_named(images)
    refs = match_references(named, load_named(references or [], kind="reference"))
    mask_array = None
    if mask is not None:
        mask_array = load_mask(mask, shape=named[0].pixels.shape[:2])
    rows = []
    total = len(cards) * len(named)
    for model_index, card in enumerate(cards):
        model = registry.create(card.name)
        done = model_index * len(named)
        if card.needs_prompt:
            if progress is not None:
                progress(done / total, f"{card.name} under the prompt '{prompt}'")
            rows.extend(_prompt_rows(card, model, named, saved_prompt, prompt))
            continue
        by_image: dict[int, list] = {}
        for batch in _batches(card, model, named, refs):
            if progress is not None:
                progress((done + len(by_image)) / total, f"{card.name} on {named[batch[0]].name}"
                         + (f" and {len(batch) - 1} more" if len(batch) > 1 else ""))
            batch_rows = _batch_rows(card, model, [named[k] for k in batch], [refs[k] for k in batch], mask_array)
            by_image.update(zip(batch, batch_rows, strict=True))
        rows.extend(by_image[k] for k in sorted(by_image))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _batches(card: registry.ModelCard, model: Any, named: list[NamedImage],
             refs: list[NamedImage | None]) -> list[list[int]]:
    """Indices of the images to score together: images of one size (and references of one size), at most
    ``BATCH_SIZE`` at a time, for models with ``score_batch``; one at a time otherwise."""
    if not hasattr(model, "score_batch") or card.needs_mask or card.uses_mask:
        return [[k] for k in range(len(named))]
    groups: dict[tuple, list[int]] = {}
    for k, (image, ref) in enumerate(zip(named, refs, strict=True)):
        key = (image.pixels.shape, ref.pixels.shape if card.full_reference and ref is not None else None)
        groups.setdefault(key, []).append(k)
    return [members[start:start + BATCH_SIZE] for members in groups.values()
            for start in range(0, len(members), BATCH_SIZE)]


def _batch_rows(card: registry.ModelCard, model: Any, images: list[NamedImage], refs: list[NamedImage | None],
                mask: np.ndarray | None) -> list[list]:
    """Rows of one batch (module docstring); a batch of one goes through ``score`` with the mask."""
    used_refs = [ref if card.full_reference else None for ref in refs]
    ref_pixels = [None if ref is None else ref.pixels for ref in used_refs]
    start = time.perf_counter()
    if len(images) == 1 and (card.needs_mask or card.uses_mask or not hasattr(model, "score_batch")):
        image_mask = None
        if mask is not None and (card.needs_mask or card.uses_mask):
            image_mask = load_mask(mask, shape=images[0].pixels.shape[:2])
        results = [model.score(images[0].pixels, ref_pixels[0], image_mask)]
    else:
        results = model.score_batch([image.pixels for image in images],
                                    ref_pixels if card.full_reference else None)
    seconds = (time.perf_counter() - start) / len(images)
    rows = []
    for image, ref, result in zip(images, used_refs, results, strict=True):
        if not np.isfinite(result.score):
            raise InputError(f"'{card.name}' gave a non-finite score for {image.name}; this metric cannot rate that image.")
        rows.append([image.name, card.name, float(result.score), card.lower_better, "" if ref is None else ref.name,
                     seconds])
    return rows


def _prompt_rows(card: registry.ModelCard, model: Any, named: list[NamedImage], saved_prompt: Any,
                 prompt_name: str) -> list[list]:
    """Rows of a prompt model: all images scored in one batch under the saved prompt (paper 004 Sec. 3.2)."""
    start = time.perf_counter()
    scores = np.asarray(model.score_images([image.pixels for image in named], saved_prompt,
                                           names=[image.name for image in named]), dtype=np.float64)
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
