"""Harmonization service: the Harmonize tab, ``/harmonize`` and ``python -m backend harmonize`` call
:func:`harmonize_many` (decode + validate inputs once, run each chosen harmonizer, measure against a
reference when one is given)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend import registry
from backend.errors import InputError
from backend.harmonization.base import HarmonizationResult, check_pair
from backend.harmonization.metrics import harmonization_errors
from backend.images import load_image, load_mask


@dataclass
class MethodResult:
    method: str
    result: HarmonizationResult
    seconds: float
    errors: dict[str, float] | None = None


def load_inputs(composite: Any, mask: Any, reference: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    image = load_image(composite, name="composite")
    foreground = load_mask(mask, shape=image.shape[:2], name="foreground mask")
    check_pair(image, foreground)
    ref = None
    if reference is not None:
        ref = load_image(reference, name="reference")
        if ref.shape != image.shape:
            raise InputError(f"The reference is {ref.shape[1]}x{ref.shape[0]} but the composite is "
                             f"{image.shape[1]}x{image.shape[0]}; give a reference of the same size.")
    return image, foreground, ref


def check_methods(methods: Sequence[str]) -> list[str]:
    if not methods:
        raise InputError("No harmonizer was chosen; pick at least one method.")
    for name in methods:
        card = registry.card(name)
        if card.task != "harmonize":
            raise InputError(f"'{name}' is a {card.task} model, not a harmonizer; pick a harmonization method.")
    return list(methods)


def harmonize_many(composite: Any, mask: Any, methods: Sequence[str], reference: Any = None,
                   progress: Callable[[float, str], None] | None = None) -> tuple[np.ndarray, np.ndarray, list[MethodResult]]:
    """Decode the inputs and run every method; returns (composite, mask, results)."""

    methods = check_methods(methods)
    image, foreground, ref = load_inputs(composite, mask, reference)
    results = []
    for index, name in enumerate(methods):
        if progress is not None:
            progress(index / len(methods), f"harmonizing with {name}")
        model = registry.create(name)
        start = time.perf_counter()
        result = model.harmonize(image, foreground)
        seconds = time.perf_counter() - start
        errors = harmonization_errors(result.image, ref, foreground).as_dict() if ref is not None else None
        results.append(MethodResult(name, result, seconds, errors))
    return image, foreground, results
