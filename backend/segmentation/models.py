"""Registry entries for the segmenters (task ``segment``) and the default choice.

``regions`` (offline, always ready) and ``sam2.1-hiera-tiny`` (hub weights). :func:`get_segmenter` with no
name returns SAM 2 when its weights are present here, else the offline segmenter.
"""

from __future__ import annotations

from backend import registry
from backend.registry import ModelCard, register
from backend.segmentation.sam2 import SAM2_WEIGHTS

OFFLINE = "regions"
SAM2 = "sam2.1-hiera-tiny"


def _regions(**options):
    from backend.segmentation.regions import RegionSegmenter

    return RegionSegmenter(**options)


def _sam2(**options):
    from backend.segmentation.sam2 import Sam2Segmenter

    return Sam2Segmenter(**options)


register(ModelCard(name=OFFLINE, task="segment", paper="002",
                   summary="Felzenszwalb superpixels merged by CIELAB colour (offline, no weights)."), _regions)
register(ModelCard(name=SAM2, task="segment", paper="002", hub_weights=SAM2_WEIGHTS,
                   summary="SAM 2.1 Hiera-Tiny via transformers: automatic and mask-prompted masks."), _sam2)


def get_segmenter(name: str | None = None):
    """The named segmenter, or SAM 2 when ready and the offline segmenter otherwise."""
    if name is None:
        name = SAM2 if registry.status(SAM2).ready else OFFLINE
    card = registry.card(name)
    if card.task != "segment":
        from backend.errors import InputError

        raise InputError(f"'{name}' is a {card.task} model, not a segmenter; pick one of: {OFFLINE}, {SAM2}.")
    return registry.create(name)
