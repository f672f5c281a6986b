"""Dog-IQA segmentation process pipeline (paper 003 Sec. 3.2, Algorithm 1) and the sub-images it scores.

Algorithm 1, for one image: ``raw_masks = S(X)`` (SAM 2 automatic masks when its weights are present --
the segmenter's defaults are the public code's parameters listed in SPEC.md: 8 points per side, predicted
IoU >= .9, stability >= .8 at offset .7, NMS .9 -- else the offline region segmenter); keep every mask
whose area is at least ``t``; then ``remain = AND(NOT kept masks)``, appended when its area is at least
``t`` too. Masks may overlap (SAM's do): the remainder is what no kept mask covers, and each mask keeps its
own full area (the weights of the area-weighted mean are mask areas, paper Sec. 4.4 "Score Aggregation").
When no mask reaches ``t`` the remainder is the whole image, so the image is scored as one region (the
paper's limitation: "resulting in a direct score for the entire image instead"); when the kept masks cover
everything there is no remainder.

``t`` is given as a fraction of the image area (``area_threshold``; the public code's 1000 px is 0.13 % of a
1024x768 image), so the same setting fits every image size.

Sub-images (Sec. 3.2, Table 4 exp. 4 vs 7): the bounding box of each mask, cut from the original pixels
(never zero-padded). Boxes with a side shorter than ``min_side`` pixels (a thin mask) are widened around
their centre to ``min_side`` (still original pixels, clamped to the image), so every scorer gets a crop it
can read (64 px by default: the registry NR models score 32 px crops far lower than the same
content at 64 px); the mask and its area are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.errors import InputError

DEFAULT_AREA_THRESHOLD = 0.01  # fraction of the image area (1 %: about 7 regions per photo, as the paper's 7.22)
DEFAULT_MIN_SIDE = 64  # crops narrower than this are widened (original pixels); NR scorers misread tiny crops


@dataclass(frozen=True)
class Region:
    """One Dog-IQA sub-image: its mask, the crop box (x0, y0, x1, y1; exclusive ends) and its kind."""

    index: int
    mask: np.ndarray
    box: tuple[int, int, int, int]
    kind: str  # "object" (a segmenter mask) or "remainder" (what no kept mask covers)

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    def crop(self, image: np.ndarray) -> np.ndarray:
        return crop(image, self.box)

    def summary(self, image_area: int) -> dict:
        x0, y0, x1, y1 = self.box
        return {"index": self.index, "kind": self.kind, "area": self.area,
                "area_fraction": self.area / image_area, "box": [x0, y0, x1, y1]}


def area_pixels(area_threshold: float, shape: tuple[int, ...]) -> int:
    """The threshold ``t`` in pixels for an image of ``shape`` (``area_threshold`` is a fraction of it)."""
    if not 0.0 <= float(area_threshold) <= 1.0:
        raise InputError(f"The area threshold {area_threshold} is a fraction of the image area; give a number in 0..1.")
    return max(1, int(np.ceil(float(area_threshold) * shape[0] * shape[1])))


def select_masks(masks, threshold: int, shape: tuple[int, int]) -> list[tuple[np.ndarray, str]]:
    """Algorithm 1 for one image: masks with area >= ``threshold`` (pixels), then the remainder if large enough."""
    kept = []
    for mask in masks:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != tuple(shape):
            raise InputError(f"A segmentation mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                             f"{shape[1]}x{shape[0]}; the segmenter must return masks of the image's size.")
        if mask.sum() >= threshold:
            kept.append((mask, "object"))
    remain = np.ones(shape, dtype=bool)
    for mask, _ in kept:
        remain &= ~mask
    if remain.sum() >= threshold:
        kept.append((remain, "remainder"))
    return kept


def bounding_box(mask: np.ndarray, min_side: int = DEFAULT_MIN_SIDE) -> tuple[int, int, int, int]:
    """The mask's bounding box (x0, y0, x1, y1), widened to at least ``min_side`` per side inside the image."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise InputError("An empty mask has no bounding box.")
    height, width = mask.shape

    def widen(low: int, high: int, size: int) -> tuple[int, int]:
        side = min(max(min_side, high - low), size)
        if high - low >= side:
            return low, high
        centre = (low + high) / 2.0
        low = int(round(centre - side / 2.0))
        low = min(max(0, low), size - side)
        return low, low + side

    x0, x1 = widen(int(xs.min()), int(xs.max()) + 1, width)
    y0, y1 = widen(int(ys.min()), int(ys.max()) + 1, height)
    return x0, y0, x1, y1


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The original pixels inside ``box`` (a contiguous copy; nothing is padded or masked)."""
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def regions_from_masks(masks, shape: tuple[int, int], area_threshold: float = DEFAULT_AREA_THRESHOLD,
                       min_side: int = DEFAULT_MIN_SIDE) -> list[Region]:
    """Algorithm 1 on given masks: the regions (kept masks + remainder) with their crop boxes."""
    threshold = area_pixels(area_threshold, shape)
    return [Region(index, mask, bounding_box(mask, min_side), kind)
            for index, (mask, kind) in enumerate(select_masks(masks, threshold, shape), start=1)]


def segment_regions(image: np.ndarray, segmenter, area_threshold: float = DEFAULT_AREA_THRESHOLD,
                    min_side: int = DEFAULT_MIN_SIDE) -> tuple[list[Region], int]:
    """Algorithm 1 with a segmenter: (regions, number of raw masks the segmenter returned)."""
    segmentation = segmenter.segment(image)
    return regions_from_masks(segmentation.masks, image.shape[:2], area_threshold, min_side), len(segmentation)
