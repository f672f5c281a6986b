"""Registry cards of the segmenters (task ``segment``): ``regions`` (offline) and ``sam2.1-hiera-tiny`` (hub)."""

from __future__ import annotations

from backend.registry import ModelCard, register
from backend.segmentation.sam2 import SAM2_WEIGHTS

OFFLINE = "regions"
SAM2 = "sam2.1-hiera-tiny"


@register(ModelCard(name=OFFLINE, task="segment", paper="002",
                    summary="Felzenszwalb superpixels merged by CIELAB colour (offline, no weights)."))
def build_regions(work_side: int = 256, scale: float = 200.0, merge_threshold: float = 10.0,
                  min_fraction: float = 0.002):
    from backend.segmentation.regions import RegionSegmenter

    return RegionSegmenter(work_side, scale, merge_threshold, min_fraction)


@register(ModelCard(name=SAM2, task="segment", paper="002", hub_weights=SAM2_WEIGHTS,
                    summary="SAM 2.1 Hiera-Tiny via transformers: automatic and mask-prompted masks."))
def build_sam2(points_per_side: int = 8, pred_iou_thresh: float = 0.9, stability_score_thresh: float = 0.8,
               stability_offset: float = 0.7, nms_thresh: float = 0.9, point_batch: int = 64):
    from backend.segmentation.sam2 import Sam2Segmenter

    return Sam2Segmenter(points_per_side=points_per_side, pred_iou_thresh=pred_iou_thresh,
                         stability_score_thresh=stability_score_thresh, stability_offset=stability_offset,
                         nms_thresh=nms_thresh, point_batch=point_batch)
