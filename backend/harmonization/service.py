"""Harmonization service: the Harmonize tab, ``/harmonize`` and ``python -m backend harmonize`` call
:func:`harmonize_run` / :func:`harmonize_many` (decode + validate inputs once, run each chosen harmonizer,
measure against a reference when one is given).

Failures (``failures``): ``"raise"`` (the command line) stops at the first problem. ``"report"`` (the tab)
runs every method on its own: a method that cannot run here (e.g. ``srh-full`` without trained weights) or
fails while running gets a :class:`MethodResult` with ``error`` set, beside the others' results. Bad inputs
(no mask, a reference of another size, ...) are refused before any method runs, in both modes.

Working size (``working_pixels``, the setting ``HARMONYLAB_WORKING_PIXELS``): a composite above it (or with a
side above ``base.MAX_SIDE``) is decoded at a reduced size -- its mask and reference brought to the same size
-- and harmonized there; :func:`full_size_result` then carries a result back to the composite's own size by
adding the upsampled colour change to the full-size composite inside the mask (every harmonizer here changes
colours smoothly, so the change survives upsampling while the composite's own detail stays sharp).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend import registry
from backend.errors import InputError, failure_reason
from backend.harmonization.base import MAX_SIDE, HarmonizationResult, check_pair
from backend.harmonization.metrics import harmonization_errors
from backend.images import load_image, load_image_fit, load_mask, shrink


@dataclass
class MethodResult:
    method: str
    result: HarmonizationResult | None
    seconds: float
    errors: dict[str, float] | None = None
    error: str = ""  # why this method gave no result (report mode)


@dataclass
class HarmonizeRun:
    composite: np.ndarray  # at the working size
    mask: np.ndarray
    results: list[MethodResult]
    original_size: tuple[int, int]  # the composite's own (width, height)
    reference: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def working_size(self) -> tuple[int, int]:
        return self.composite.shape[1], self.composite.shape[0]

    @property
    def reduced(self) -> bool:
        return self.working_size != self.original_size


def load_inputs(composite: Any, mask: Any, reference: Any = None, working_pixels: int | None = None,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple[int, int]]:
    """Composite, mask and reference at the working size (their own size when ``working_pixels`` is None),
    and the composite's own (width, height)."""
    if working_pixels is None:
        image = load_image(composite, name="composite")
        size = (image.shape[1], image.shape[0])
    else:
        image, size = load_image_fit(composite, name="composite", max_pixels=working_pixels, max_side=MAX_SIDE)
    foreground = load_mask(mask, shape=(size[1], size[0]), name="foreground mask")
    if (image.shape[1], image.shape[0]) != size:
        foreground = shrink(foreground, (image.shape[1], image.shape[0]))
    check_pair(image, foreground)
    ref = None
    if reference is not None:
        if working_pixels is None:
            ref = load_image(reference, name="reference")
            ref_size = (ref.shape[1], ref.shape[0])
        else:
            ref, ref_size = load_image_fit(reference, name="reference", max_pixels=working_pixels, max_side=MAX_SIDE)
        if ref_size != size:
            raise InputError(f"The reference is {ref_size[0]}x{ref_size[1]} but the composite is "
                             f"{size[0]}x{size[1]}; give a reference of the same size.")
        ref = shrink(ref, (image.shape[1], image.shape[0]))
    return image, foreground, ref, size


def check_methods(methods: Sequence[str]) -> list[str]:
    if not methods:
        raise InputError("No harmonizer was chosen; pick at least one method.")
    for name in methods:
        card = registry.card(name)
        if card.task != "harmonize":
            raise InputError(f"'{name}' is a {card.task} model, not a harmonizer; pick a harmonization method.")
    return list(methods)


def _cannot_run(name: str) -> str:
    status = registry.status(name)
    if status.state == "unavailable":
        return f"'{name}' cannot run on this server: {status.detail or status.state}."
    return ""


def harmonize_run(composite: Any, mask: Any, methods: Sequence[str], reference: Any = None,
                  progress: Callable[[float, str], None] | None = None, *, failures: str = "raise",
                  working_pixels: int | None = None) -> HarmonizeRun:
    """Decode the inputs and run every method (module docstring)."""
    methods = check_methods(methods)
    image, foreground, ref, size = load_inputs(composite, mask, reference, working_pixels)
    run = HarmonizeRun(image, foreground, [], size, ref)
    if run.reduced:
        run.notes.append(f"The composite is {size[0]}x{size[1]}; it was harmonized at {image.shape[1]}x"
                         f"{image.shape[0]}, the working size, and the result file is upsampled to its own size.")
    for index, name in enumerate(methods):
        if progress is not None:
            progress(index / len(methods), f"harmonizing with {name}")
        refused = _cannot_run(name) if failures == "report" else ""
        if refused:
            run.results.append(MethodResult(name, None, 0.0, error=refused))
            continue
        start = time.perf_counter()
        try:
            result = registry.create(name).harmonize(image, foreground)
        except Exception as error:  # noqa: BLE001 - report mode: one method's failure is its own row
            if failures == "raise":
                raise
            run.results.append(MethodResult(name, None, time.perf_counter() - start, error=failure_reason(error, name)))
            continue
        seconds = time.perf_counter() - start
        errors = harmonization_errors(result.image, ref, foreground).as_dict() if ref is not None else None
        run.results.append(MethodResult(name, result, seconds, errors))
    if failures == "report" and all(item.error for item in run.results):
        raise InputError("No harmonizer could run: " + " ".join(item.error for item in run.results))
    return run


def harmonize_many(composite: Any, mask: Any, methods: Sequence[str], reference: Any = None,
                   progress: Callable[[float, str], None] | None = None) -> tuple[np.ndarray, np.ndarray, list[MethodResult]]:
    """Decode the inputs and run every method at the composite's own size; returns (composite, mask, results)."""
    run = harmonize_run(composite, mask, methods, reference, progress)
    return run.composite, run.mask, run.results


def full_size_result(composite: Any, mask: Any, run: HarmonizeRun, result: np.ndarray) -> np.ndarray:
    """``result`` (at the run's working size) carried to the composite's own size (module docstring)."""
    if not run.reduced:
        return result
    import cv2

    full = load_image(composite, name="composite")
    foreground = load_mask(mask, shape=full.shape[:2], name="foreground mask")
    change = result.astype(np.float32) - run.composite.astype(np.float32)
    out = full.copy()
    for channel in range(3):
        upsampled = cv2.resize(change[..., channel], (full.shape[1], full.shape[0]), interpolation=cv2.INTER_LINEAR)
        values = out[..., channel]
        values[foreground] = np.clip(np.rint(values[foreground] + upsampled[foreground]), 0, 255).astype(np.uint8)
    return out
