"""Scoring service: the Score tab, ``/score`` and ``python -m backend score`` all call :func:`score_images`.

Inputs are named images (file names matter: references are matched to images by file name when every
image has a reference of the same name, otherwise by order), a list of registry model names and an optional
foreground mask for the mask-aware metrics, and optionally the name of a saved PromptIQA prompt (paper 004)
for the models that score under an image-score-pair prompt. The result is a long table ``image, model,
score`` with the model's direction, the reference used, the time, an ``error`` sentence for a score that
could not be computed and a ``note`` (e.g. the working size), one row per (image, model); a prompt model's
rows are named ``MODEL[PROMPT]`` and are in the prompt's own score scale.

Names stay unique (:func:`unique_names`): two uploads called ``aloe-pot.jpg`` become ``a/aloe-pot.jpg`` and
``b/aloe-pot.jpg`` when their folders tell them apart, else ``aloe-pot.jpg #1`` and ``aloe-pot.jpg #2``, so
no table, chart or CSV merges them.

Failures (``failures``):

- ``"raise"`` (the command line, other services): the first problem raises its sentence -- a model that
  cannot run here or does not fit the inputs is refused before any image is scored.
- ``"report"`` (the Score tab and its ``/score`` endpoint): each model runs on its own; a model that cannot
  run (not available here, a full-reference model without references, a mask or prompt missing) or fails
  while running (a refused image, running out of memory, an unexpected error) gets rows whose ``error``
  says why, beside the other models' scores. Only when nothing at all could be scored is the run refused,
  with every reason.

Working size (``working_pixels``, the Tab's setting ``HARMONYLAB_WORKING_PIXELS``): an image above it is
decoded at a reduced size (its reference too, to the same size) and scored there; its rows' ``note`` says
so. ``None`` scores images at their own size.

Images of one size are scored together, up to ``BATCH_SIZE`` per call of a model's ``score_batch`` (a
classical metric computes a whole batch in one pass); ``seconds`` is then the batch's time per image.
Mask-aware models score one image at a time with the mask. ``progress(fraction, text)`` is called before
every batch.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend import registry
from backend.errors import HarmonyLabError, InputError, failure_reason
from backend.images import load_image, load_image_fit, load_mask, shrink
from backend.store.prompts import load_prompt

MAX_IMAGES_PER_CALL = 500
BATCH_SIZE = 32  # images of one size scored in one call of a model's score_batch
RESULT_COLUMNS = ["image", "model", "score", "lower_better", "reference", "seconds", "error", "note"]
FAILURE_MODES = ("raise", "report")
SCORING_ADVICE = "score a smaller image, or let the server's working size shrink large images first"
_CACHE_FOLDER = re.compile(r"^[0-9a-f]{16,}$|^tmp|^gradio", re.IGNORECASE)  # upload caches name nothing


@dataclass
class NamedImage:
    name: str
    pixels: np.ndarray
    size: tuple[int, int] | None = None  # the image's own (width, height) when it was decoded smaller

    @property
    def note(self) -> str:
        if self.size is None or self.size == (self.pixels.shape[1], self.pixels.shape[0]):
            return ""
        return (f"scored at {self.pixels.shape[1]}x{self.pixels.shape[0]}, the working size "
                f"(the image is {self.size[0]}x{self.size[1]})")


def display_name(source: Any, index: int) -> str:
    if isinstance(source, dict) and "path" in source:
        source = source.get("orig_name") or source["path"]
    if isinstance(source, (str, Path)):
        return Path(source).name
    return f"image_{index + 1}"


def _folder(source: Any) -> str | None:
    if isinstance(source, dict) and "path" in source:
        source = source["path"]
    if isinstance(source, (str, Path)):
        parent = Path(source).parent.name
        return None if not parent or _CACHE_FOLDER.match(parent) else parent
    return None


def unique_names(sources: Sequence[Any]) -> list[str]:
    """A display name per source that no other source shares: the file name; for names that occur more than
    once, ``folder/name`` when the folders tell them apart, else ``name #k`` in order of appearance."""
    names = [display_name(source, index) for index, source in enumerate(sources)]
    counts = Counter(names)
    result = list(names)
    for name in [n for n, c in counts.items() if c > 1]:
        positions = [k for k, n in enumerate(names) if n == name]
        folders = [_folder(sources[k]) for k in positions]
        if all(folders) and len(set(folders)) == len(folders):
            labels = [f"{folder}/{name}" for folder in folders]
        else:
            labels = [f"{name} #{k + 1}" for k in range(len(positions))]
        for position, label in zip(positions, labels, strict=True):
            result[position] = label
    return result


def load_named(sources: Sequence[Any], kind: str = "image", working_pixels: int | None = None) -> list[NamedImage]:
    """Decode a list of sources, naming each by its unique display name (:func:`unique_names`)."""
    named = []
    for name, source in zip(unique_names(sources), sources, strict=True):
        if working_pixels is None:
            named.append(NamedImage(name, load_image(source, name=f"{kind} '{name}'")))
        else:
            pixels, size = load_image_fit(source, name=f"{kind} '{name}'", max_pixels=working_pixels)
            named.append(NamedImage(name, pixels, size))
    return named


def match_references(images: list[NamedImage], references: list[NamedImage]) -> list[NamedImage | None]:
    """Pair each image with its reference: by identical file name, else by order (same count). A reference
    decoded at a working size is brought to the size its image is scored at."""
    if not references:
        return [None] * len(images)
    by_name = {ref.name: ref for ref in references}
    if all(image.name in by_name for image in images):
        matched = [by_name[image.name] for image in images]
    elif len(references) == len(images):
        matched = list(references)
    elif len(references) == 1:
        matched = [references[0]] * len(images)
    else:
        raise InputError(
            f"There are {len(images)} images and {len(references)} references, and their file names do not match; "
            "give one reference per image, in the same order or with the same file names."
        )
    return [_same_size(image, ref) for image, ref in zip(images, matched, strict=True)]


def _same_size(image: NamedImage, ref: NamedImage) -> NamedImage:
    """``ref`` at the size ``image`` is scored at, when both were reduced from the same original size."""
    target = (image.pixels.shape[1], image.pixels.shape[0])
    if (ref.pixels.shape[1], ref.pixels.shape[0]) == target or image.size is None or ref.size != image.size:
        return ref
    return NamedImage(ref.name, shrink(ref.pixels, target), ref.size)


def model_problem(card: registry.ModelCard, has_references: bool, has_mask: bool, has_prompt: bool = False) -> str:
    """Why ``card`` cannot score these inputs (a sentence), or "" when it can."""
    if card.task not in ("iqa-fr", "iqa-nr"):
        return f"'{card.name}' is a {card.task} model, not an image-quality model; pick an IQA model."
    if card.needs_prompt and not has_prompt:
        return (f"'{card.name}' scores under an image-score prompt: choose a saved prompt (build and save one in "
                "the PromptIQA tab), or pick another model.")
    if card.full_reference and not has_references:
        return f"'{card.name}' is a full-reference metric: add reference images, or pick a no-reference model."
    if card.needs_mask and not has_mask:
        return f"'{card.name}' measures the foreground: add the foreground mask, or pick another model."
    return ""


def _check_models(model_names: Sequence[str], has_references: bool, has_mask: bool,
                  has_prompt: bool = False) -> list[registry.ModelCard]:
    if not model_names:
        raise InputError("No model was chosen; pick at least one model to score with.")
    cards = []
    for name in model_names:
        card = registry.card(name)
        problem = model_problem(card, has_references, has_mask, has_prompt)
        if problem:
            raise InputError(problem)
        cards.append(card)
    return cards


def score_images(
    images: Sequence[Any],
    model_names: Sequence[str],
    references: Sequence[Any] | None = None,
    mask: Any = None,
    progress: Callable[[float, str], None] | None = None,
    prompt: str | None = None,
    *,
    failures: str = "raise",
    working_pixels: int | None = None,
) -> pd.DataFrame:
    """Score every image with every model; returns the long result table (see module docstring).

    ``prompt`` names a saved PromptIQA prompt; it is needed by (and only used for) ``needs_prompt`` models.
    """
    if failures not in FAILURE_MODES:
        raise ValueError(f"failures must be one of {FAILURE_MODES}")
    if not images:
        raise InputError("No image was given; upload at least one image to score.")
    if len(images) > MAX_IMAGES_PER_CALL:
        raise InputError(f"{len(images)} images were given; score at most {MAX_IMAGES_PER_CALL} per call.")
    prompt = (prompt or "").strip() or None
    if not model_names:
        raise InputError("No model was chosen; pick at least one model to score with.")
    if failures == "raise":
        runnable, refused = _check_models(model_names, bool(references), mask is not None, prompt is not None), {}
    else:
        runnable, refused = _sort_models(model_names, bool(references), mask is not None, prompt is not None)
    named = load_named(images, working_pixels=working_pixels)
    refs = match_references(named, load_named(references or [], kind="reference", working_pixels=working_pixels))
    mask_array = None
    if mask is not None:
        mask_array = load_mask(mask, shape=(named[0].size or named[0].pixels.shape[1::-1])[::-1])
    by_model: dict[str, list] = {}
    total = max(1, len(runnable) * len(named))
    for model_index, card in enumerate(runnable):
        done = model_index * len(named)
        try:
            by_model[card.name] = _model_rows(card, named, refs, mask_array, prompt, done, total, progress, failures)
        except Exception as error:  # noqa: BLE001 - report mode: the model's failure is a row, the run goes on
            if failures == "raise":
                raise
            reason = failure_reason(error, card.name, SCORING_ADVICE)
            by_model[card.name] = _failed_rows(card.name, card.lower_better, named, reason)
    for name, (lower_better, reason) in refused.items():
        by_model[name] = _failed_rows(name, lower_better, named, reason)
    rows = [row for name in model_names for row in by_model.pop(str(name).strip(), [])]
    rows += [row for leftover in by_model.values() for row in leftover]  # names given in another spelling
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    table["score"] = table["score"].astype(np.float64)
    if failures == "report" and table["error"].ne("").all():
        reasons = list(dict.fromkeys(table["error"]))
        raise InputError("Nothing could be scored: " + " ".join(reasons))
    return table


def _sort_models(model_names: Sequence[str], has_references: bool, has_mask: bool,
                 has_prompt: bool) -> tuple[list[registry.ModelCard], dict[str, tuple[bool, str]]]:
    """Report mode: the models that can run, and ``{name: (lower_better, reason)}`` for those that cannot."""
    runnable, refused = [], {}
    for name in model_names:
        try:
            card = registry.card(name)
        except HarmonyLabError as error:
            refused[str(name)] = (False, str(error))
            continue
        problem = model_problem(card, has_references, has_mask, has_prompt)
        if not problem:
            status = registry.status(card.name)
            if status.state == "unavailable" or (status.state != "ready" and _offline()):
                problem = f"'{card.name}' cannot run on this server: {status.detail or status.state}."
        if problem:
            refused[card.name] = (card.lower_better, problem)
        else:
            runnable.append(card)
    return runnable, refused


def _offline() -> bool:
    from backend import settings

    return settings.current().hub_offline


def _failed_rows(model: str, lower_better: bool, named: list[NamedImage], reason: str) -> list[list]:
    return [[image.name, model, np.nan, lower_better, "", 0.0, reason, image.note] for image in named]


def _model_rows(card, named, refs, mask_array, prompt, done, total, progress, failures) -> list[list]:
    """Every row of one model; in report mode an image that fails becomes a row with its reason."""
    model = registry.create(card.name)
    if card.needs_prompt:
        if progress is not None:
            progress(done / total, f"{card.name} under the prompt '{prompt}'")
        return _prompt_rows(card, model, named, load_prompt(prompt), prompt)
    by_image: dict[int, list] = {}
    for batch in _batches(card, model, named, refs):
        if progress is not None:
            progress((done + len(by_image)) / total, f"{card.name} on {named[batch[0]].name}"
                     + (f" and {len(batch) - 1} more" if len(batch) > 1 else ""))
        try:
            batch_rows = _batch_rows(card, model, [named[k] for k in batch], [refs[k] for k in batch], mask_array)
        except Exception as error:  # noqa: BLE001 - report mode: this batch's images get the reason
            if failures == "raise" or len(named) == 1:
                raise
            reason = failure_reason(error, card.name, SCORING_ADVICE)
            batch_rows = _failed_rows(card.name, card.lower_better, [named[k] for k in batch], reason)
        by_image.update(zip(batch, batch_rows, strict=True))
    return [by_image[k] for k in sorted(by_image)]


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
            image_mask = mask
            if images[0].size is not None and tuple(mask.shape[::-1]) == images[0].size:  # decoded at a working size
                image_mask = shrink(mask, (images[0].pixels.shape[1], images[0].pixels.shape[0]))
            image_mask = load_mask(image_mask, shape=images[0].pixels.shape[:2])
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
                     seconds, "", image.note])
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
    return [[image.name, label, float(score), False, "", seconds, "", image.note]
            for image, score in zip(named, scores, strict=True)]


def wide_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per image, one column per model (for display); a score that could not be computed is empty."""
    if results.empty:
        return pd.DataFrame(columns=["image"])
    order = list(dict.fromkeys(results["model"]))
    wide = results.pivot_table(index="image", columns="model", values="score", sort=False, dropna=False).reset_index()
    wide.columns.name = None
    return wide[["image", *[model for model in order if model in wide.columns]]]


def model_report(results: pd.DataFrame) -> pd.DataFrame:
    """One row per model: ``model, status, detail`` -- scored, or why (some of) its scores are missing."""
    rows = []
    for model, group in results.groupby("model", sort=False):
        failed = group[group["error"] != ""]
        notes = [f"{image} {note}" for image, note in zip(group["image"], group["note"], strict=True) if note]
        if failed.empty:
            status, detail = "✓ scored", f"{len(group)} image{'s' if len(group) != 1 else ''}"
        elif len(failed) == len(group):
            status, detail = "✗ not scored", failed["error"].iloc[0]
        else:
            status = f"⚠ {len(failed)} of {len(group)} not scored"
            detail = "; ".join(f"{image}: {error}" for image, error in zip(failed["image"], failed["error"], strict=True))
        if notes:
            detail += f" ({'; '.join(notes)})"
        rows.append({"model": model, "status": status, "detail": detail})
    return pd.DataFrame(rows, columns=["model", "status", "detail"])
