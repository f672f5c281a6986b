"""The segmentation interface shared by every segmenter (paper 002 Sec. 3.2; paper 003 Alg. 1).

A segmenter turns an RGB ``uint8`` image into instance-like masks, two ways:

- ``segment(image, min_area=0)`` -- automatic masks over the whole image (SAM's "full image" / automatic
  mask generation mode), each a ``bool`` HxW array with a confidence score, sorted by area (largest first);
  ``min_area`` (pixels) drops small masks (Dog-IQA Alg. 1 keeps masks with area >= t);
- ``segment_prompt(image, mask)`` -- the one instance a foreground mask points at (SAM's mask/box prompt).

Results are cached per (segmenter, image content hash, request) in a small in-process LRU, so the
Harmonize tab, the harmonizers and Dog-IQA segment a given image once. Subclasses implement
``_automatic`` and ``_prompted``; the caching and input checks live here only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.errors import InputError
from backend.images import check_mask, content_hash

CACHE_SIZE = 64


@dataclass(frozen=True)
class Segmentation:
    """Instance masks (``bool`` HxW each, largest first) and one score per mask (higher = more confident)."""

    masks: tuple[np.ndarray, ...]
    scores: np.ndarray
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.masks)

    @property
    def areas(self) -> np.ndarray:
        return np.array([int(m.sum()) for m in self.masks], dtype=np.int64)

    def labels(self) -> np.ndarray:
        """An int32 label map: 0 where no mask covers a pixel, else 1 + index of the last mask covering it."""
        shape = self.masks[0].shape if self.masks else (0, 0)
        labels = np.zeros(shape, dtype=np.int32)
        for index, mask in enumerate(self.masks):
            labels[mask] = index + 1
        return labels

    def filtered(self, min_area: int) -> Segmentation:
        keep = [i for i, m in enumerate(self.masks) if m.sum() >= min_area]
        return Segmentation(tuple(self.masks[i] for i in keep), self.scores[keep], self.details)


def sorted_segmentation(masks: list[np.ndarray], scores: list[float] | np.ndarray, **details: Any) -> Segmentation:
    """A :class:`Segmentation` with empty masks dropped and the rest sorted by area, largest first."""
    pairs = [(m.astype(bool, copy=False), float(s)) for m, s in zip(masks, scores, strict=True) if m.any()]
    pairs.sort(key=lambda pair: -int(pair[0].sum()))
    return Segmentation(tuple(m for m, _ in pairs), np.array([s for _, s in pairs], dtype=np.float64), details)


def check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError("Segmentation needs an RGB uint8 image (decode it with backend.images.load_image first).")
    if min(image.shape[:2]) < 8:
        raise InputError(f"The image is {image.shape[1]}x{image.shape[0]} pixels; give an image at least 8x8 to segment.")
    return image


class Segmenter:
    """Base class: input checks and a per-content-hash LRU cache around ``_automatic`` / ``_prompted``."""

    name = "segmenter"

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple, Segmentation] = OrderedDict()
        self._lock = threading.Lock()
        self.calls = 0  # how many times the underlying model actually ran (tests check the cache with it)

    def options_key(self) -> tuple:
        return ()

    def _cached(self, key: tuple, compute) -> Segmentation:
        key = (self.name, self.options_key(), *key)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        result = compute()
        with self._lock:
            self.calls += 1
            self._cache[key] = result
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def segment(self, image: np.ndarray, min_area: int = 0) -> Segmentation:
        """Automatic instance masks of ``image`` (largest first), dropping masks smaller than ``min_area``."""
        check_image(image)
        result = self._cached(("auto", content_hash(image)), lambda: self._automatic(image))
        return result.filtered(min_area) if min_area > 0 else result

    def segment_prompt(self, image: np.ndarray, mask: np.ndarray) -> Segmentation:
        """The instance the foreground ``mask`` points at (one mask, with its score)."""
        check_image(image)
        mask = check_mask(mask, shape=image.shape[:2], allow_full=True)
        key = ("prompt", content_hash(image), content_hash(mask))
        return self._cached(key, lambda: self._prompted(image, mask))

    def _automatic(self, image: np.ndarray) -> Segmentation:  # pragma: no cover - abstract
        raise NotImplementedError

    def _prompted(self, image: np.ndarray, mask: np.ndarray) -> Segmentation:  # pragma: no cover - abstract
        raise NotImplementedError

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
