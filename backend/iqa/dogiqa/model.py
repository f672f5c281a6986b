"""The Dog-IQA pipeline (paper 003 Fig. 3) behind the registry's ``score`` protocol.

segmentation (Algorithm 1, ``algorithm``) -> standard-guided scoring of the whole image and of every
region's bounding-box crop (``standard`` with a VLM, or ``offline`` with a registry NR model) ->
aggregation (``aggregate``: the paper's formula or the public code's). ``details`` of the result holds
every region (index, kind, area, area fraction, crop box, level, weighted score, the VLM's K probabilities
or the NR model's raw value), the components (global, local, seg, final) for the chosen readout and for
both readouts, and the time spent segmenting and scoring.

c_max: the most masks seen over a reference set (Sec. 3.2). The default is the value measured for the
segmenter in the calibration file (``python -m backend dogiqa-calibrate``); for a segmenter that was not
measured here (SAM 2, when its weights are present) it is the paper's 71 (SAM 2 on SPAQ, Sec. 4.1).
The measured value is a maximum over 198 reference images (26 regions for a mean of 10), so s_seg weighs
about four times more relative to the level scores than in the paper (mean/c_max 0.39 against 7.22/71 =
0.10); ``benchmarks/dogiqa.py`` reports the SRCC with both values.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from backend.errors import InputError
from backend.iqa.dogiqa.aggregate import FORMULAS, aggregate, check_c_max, check_levels
from backend.iqa.dogiqa.algorithm import DEFAULT_AREA_THRESHOLD, DEFAULT_MIN_SIDE, Region, segment_regions
from backend.iqa.dogiqa.offline import read_calibration
from backend.iqa.dogiqa.standard import READOUTS
from backend.protocols import ScoreResult
from backend.segmentation.models import get_segmenter

PAPER_C_MAX = 71  # SAM 2 on SPAQ (paper Sec. 4.1)


def default_c_max(segmenter_name: str, calibration=None) -> tuple[float, str]:
    """(c_max, where it comes from) for a segmenter: the calibration file, else the paper's value."""

    try:
        measured = read_calibration(calibration).get("segmenters", {}).get(segmenter_name)
    except Exception:  # no calibration file: the paper's value, said so in the details
        measured = None
    if measured:
        return float(measured["c_max"]), f"measured on the reference set ({measured['images']} images)"
    return float(PAPER_C_MAX), "paper (SAM 2 on SPAQ)"


class DogIQA:
    """Segment, score the whole image and the crops on the K-level standard, aggregate (module docstring)."""

    def __init__(self, card, scorer, segmenter: str | None = None, k: int = 7, formula: str = "paper",
                 readout: str = "argmax", c_max: float | None = None,
                 area_threshold: float = DEFAULT_AREA_THRESHOLD, min_side: int = DEFAULT_MIN_SIDE,
                 calibration: Any = None):
        if formula not in FORMULAS:
            raise InputError(f"Unknown aggregation '{formula}'; use one of {', '.join(FORMULAS)}.")
        if readout not in READOUTS:
            raise InputError(f"Unknown readout '{readout}'; use one of {', '.join(READOUTS)}.")
        self.card, self.scorer, self.k = card, scorer, check_levels(k)
        if getattr(scorer, "k", self.k) != self.k:
            raise InputError(f"The scorer reads {scorer.k} levels but K = {self.k} was asked for.")
        self.segmenter = get_segmenter(segmenter) if segmenter is None or isinstance(segmenter, str) else segmenter
        self.formula, self.readout = formula, readout
        self.area_threshold, self.min_side = float(area_threshold), int(min_side)
        self.c_max, self.c_max_source = ((check_c_max(c_max), "given") if c_max is not None else
                                         default_c_max(self.segmenter.name, calibration))

    def analyse(self, image: np.ndarray) -> tuple[ScoreResult, list[Region]]:
        """The score with its details, and the regions (with masks, for overlays)."""
        start = time.perf_counter()
        regions, raw_count = segment_regions(image, self.segmenter, self.area_threshold, self.min_side)
        segmented = time.perf_counter()
        levels = self.scorer.levels([image] + [region.crop(image) for region in regions], self.readout)
        scored = time.perf_counter()
        if "unscored" in levels[0].extra:  # a refused crop scores 1 (paper's rule); a refused image is an error
            raise InputError(f"'{self.scorer.name}' cannot score this image: {levels[0].extra['unscored']}")
        areas = [region.area for region in regions]
        by_readout = {}
        for readout in ("argmax", "weighted") + (("generated",) if self.readout == "generated" else ()):
            values = [level.value(readout) for level in levels]
            by_readout[readout] = aggregate(values[0], values[1:], areas, self.k, self.c_max, self.formula).as_dict()
        components = by_readout[self.readout]
        if not np.isfinite(components["final"]):  # a result is never NaN (issue #20): say why instead
            raise InputError(f"'{self.scorer.name}' gave no finite level for this image, so Dog-IQA cannot rate it; "
                             "try another scorer.")
        image_area = image.shape[0] * image.shape[1]
        details = {
            "components": components,
            "components_by_readout": by_readout,
            "global": {**levels[0].as_dict(), "score": levels[0].value(self.readout)},
            "regions": [{**region.summary(image_area), "score": level.value(self.readout), **level.as_dict()}
                        for region, level in zip(regions, levels[1:], strict=True)],
            "k": self.k, "formula": self.formula, "readout": self.readout,
            "c_max": self.c_max, "c_max_source": self.c_max_source,
            "area_threshold": self.area_threshold, "area_threshold_pixels": int(np.ceil(self.area_threshold * image_area)),
            "segmenter": self.segmenter.name, "raw_masks": raw_count, "scorer": self.scorer.name,
            "seconds_segmentation": segmented - start, "seconds_scoring": scored - segmented,
        }
        return ScoreResult(float(components["final"]), details), regions

    def score(self, image: np.ndarray, reference: np.ndarray | None = None, mask: np.ndarray | None = None) -> ScoreResult:
        return self.analyse(image)[0]

    def score_batch(self, images, references=None) -> list[ScoreResult]:
        return [self.score(image) for image in images]
