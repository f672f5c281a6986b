"""Algorithm 1 of Dog-IQA: area threshold, the remainder mask, overlapping masks, crops of original pixels."""

import numpy as np
import pytest

from backend.errors import InputError
from backend.iqa.dogiqa.algorithm import (
    area_pixels,
    bounding_box,
    crop,
    regions_from_masks,
    segment_regions,
    select_masks,
)
from backend.segmentation.base import Segmentation, Segmenter

SHAPE = (40, 50)  # 2000 pixels


def box_mask(y0, y1, x0, x1, shape=SHAPE):
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_no_masks_gives_the_whole_image_as_one_remainder_region():
    (region,) = regions_from_masks([], SHAPE, area_threshold=0.01, min_side=1)
    assert region.kind == "remainder" and region.area == 2000 and region.box == (0, 0, 50, 40)


def test_only_tiny_masks_are_dropped_and_the_remainder_covers_everything():
    tiny = [box_mask(0, 2, 0, 2), box_mask(10, 13, 10, 13)]  # 4 and 9 px, below t = 20 px
    regions = regions_from_masks(tiny, SHAPE, area_threshold=0.01, min_side=1)
    assert [r.kind for r in regions] == ["remainder"] and regions[0].area == 2000  # tiny masks are not "covered"


def test_full_coverage_has_no_remainder():
    left, right = box_mask(0, 40, 0, 25), box_mask(0, 40, 25, 50)
    regions = regions_from_masks([left, right], SHAPE, area_threshold=0.01, min_side=1)
    assert [r.kind for r in regions] == ["object", "object"] and [r.area for r in regions] == [1000, 1000]


def test_overlapping_masks_keep_their_areas_and_the_remainder_is_what_none_covers():
    a, b = box_mask(0, 20, 0, 30), box_mask(10, 30, 20, 40)  # 600 and 400 px, 100 px shared
    regions = regions_from_masks([a, b], SHAPE, area_threshold=0.01, min_side=1)
    assert [r.kind for r in regions] == ["object", "object", "remainder"]
    assert [r.area for r in regions] == [600, 400, 2000 - 900]
    assert not (regions[2].mask & (a | b)).any() and (regions[2].mask | a | b).all()
    assert [r.index for r in regions] == [1, 2, 3]


def test_threshold_is_inclusive_and_small_remainders_are_dropped():
    threshold = area_pixels(0.01, SHAPE)
    assert threshold == 20
    exact = box_mask(0, 4, 0, 5)  # exactly 20 px: kept ("area >= t")
    assert len(select_masks([exact], threshold, SHAPE)) == 2
    almost_all = ~box_mask(0, 3, 0, 5)  # leaves a 15 px remainder, below t
    kinds = [kind for _, kind in select_masks([almost_all], threshold, SHAPE)]
    assert kinds == ["object"]
    with pytest.raises(InputError, match="fraction"):
        area_pixels(2.0, SHAPE)
    with pytest.raises(InputError, match="size"):
        select_masks([np.ones((5, 5), bool)], 1, SHAPE)


def test_crops_are_bounding_boxes_of_the_original_pixels():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*SHAPE, 3), dtype=np.uint8)
    ring = box_mask(5, 25, 10, 40) & ~box_mask(8, 22, 13, 37)  # a hollow mask: its box holds unmasked pixels
    (region, _) = regions_from_masks([ring], SHAPE, area_threshold=0.01, min_side=1)
    assert region.box == (10, 5, 40, 25)
    np.testing.assert_array_equal(region.crop(image), image[5:25, 10:40])  # not zero-padded inside the hole
    assert region.crop(image).flags.c_contiguous


def test_thin_masks_are_widened_to_min_side_inside_the_image():
    line = box_mask(0, 40, 48, 50)  # 2 px wide at the right edge
    assert bounding_box(line, min_side=16) == (34, 0, 50, 40)
    assert bounding_box(box_mask(19, 21, 20, 22), min_side=10) == (16, 15, 26, 25)
    assert bounding_box(line, min_side=100) == (0, 0, 50, 40)  # never larger than the image
    image = np.arange(40 * 50 * 3, dtype=np.uint8).reshape(40, 50, 3)
    np.testing.assert_array_equal(crop(image, (34, 0, 50, 40)), image[:, 34:50])


class FixedSegmenter(Segmenter):
    name = "fixed"

    def __init__(self, masks):
        super().__init__()
        self.masks = masks

    def _automatic(self, image):
        return Segmentation(tuple(self.masks), np.ones(len(self.masks)))


def test_segment_regions_runs_algorithm_1_on_a_segmenter():
    image = np.zeros((*SHAPE, 3), dtype=np.uint8)
    segmenter = FixedSegmenter([box_mask(0, 20, 0, 50), box_mask(0, 1, 0, 3)])
    regions, raw = segment_regions(image, segmenter, area_threshold=0.01, min_side=1)
    assert raw == 2 and [r.kind for r in regions] == ["object", "remainder"]
    assert regions[1].area == 1000
