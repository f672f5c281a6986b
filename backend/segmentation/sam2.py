"""SAM 2 through ``transformers`` (``Sam2Model`` / ``Sam2Processor``): the segmenter of paper 002 Sec. 3.2.

Weights: the official ``facebook/sam2.1-hiera-tiny`` checkpoint from the Hugging Face hub. The revision is
the branch ``main``: no commit hash could be verified from this offline machine, so none is invented; set
``HARMONYLAB_SAM2_PATH`` to a local copy (a folder saved with ``save_pretrained``) to pin exactly what runs.
The PyPI package named ``sam2`` is an unofficial fork that compiles a CUDA extension, so this module uses the
``transformers`` implementation of the official model instead.

Modes (the :class:`~backend.segmentation.base.Segmenter` interface):
- automatic ("full image" mode in paper 002; automatic mask generation in Dog-IQA): a regular grid of
  ``points_per_side`` x ``points_per_side`` single-point prompts over one image embedding; for each point the
  best of the three multimask outputs by predicted IoU is kept when its predicted IoU >= ``pred_iou_thresh``
  and its stability score (IoU of the masks thresholded at +offset and -offset, as in SAM's generator) >=
  ``stability_score_thresh``; duplicates are removed by greedy mask-IoU NMS at ``nms_thresh``. Defaults follow
  the Dog-IQA public code (SPEC.md: 8 points per side, .9 / .8 / offset .7 / NMS .9). Departure from SAM's own
  generator: no multi-crop pass and NMS on mask IoU instead of box IoU (fewer, simpler steps on CPU);
- mask-prompted (paper 002 uses the foreground mask as SAM's prompt): the mask's bounding box plus its most
  interior point; of the three outputs, the one overlapping the given mask most is returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.device import default_device
from backend.errors import ModelUnavailableError
from backend.segmentation.base import Segmentation, Segmenter, sorted_segmentation
from backend.weights import HubWeights, hub_reachable

SAM2_WEIGHTS = HubWeights(
    repo="facebook/sam2.1-hiera-tiny",
    revision="main",  # branch name: no commit hash verifiable offline (module docstring)
    size="156 MB",
    files=("config.json", "model.safetensors"),
    local_env="HARMONYLAB_SAM2_PATH",
)


def load_sam2(weights: HubWeights = SAM2_WEIGHTS, device: str | None = None):
    """(model, processor) from the local override or the hub at the pinned revision."""
    from transformers import Sam2Model, Sam2Processor


    local = weights.local_copy()
    source, revision = (str(local), None) if local else (weights.repo, weights.revision)
    if not local and not hub_reachable():
        try:
            model = Sam2Model.from_pretrained(source, revision=revision, local_files_only=True)
            processor = Sam2Processor.from_pretrained(source, revision=revision, local_files_only=True)
        except OSError as error:
            raise ModelUnavailableError(
                f"SAM 2 weights ({weights.describe()}) are not downloaded and the hub is unreachable; "
                f"download them or set {weights.local_env} to a local copy."
            ) from error
    else:
        model = Sam2Model.from_pretrained(source, revision=revision)
        processor = Sam2Processor.from_pretrained(source, revision=revision)
    return model.to(device or default_device()).eval(), processor


def _nms(masks: list[np.ndarray], scores: list[float], threshold: float) -> list[int]:
    order = np.argsort(scores)[::-1]
    kept: list[int] = []
    for index in order:
        mask = masks[index]
        if all((mask & masks[k]).sum() / max(1, (mask | masks[k]).sum()) <= threshold for k in kept):
            kept.append(int(index))
    return kept


def _interior_point(mask: np.ndarray) -> tuple[float, float]:
    import cv2

    distance = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return float(x), float(y)


class Sam2Segmenter(Segmenter):
    name = "sam2.1-hiera-tiny"

    def __init__(self, model: Any = None, processor: Any = None, points_per_side: int = 8,
                 pred_iou_thresh: float = 0.9, stability_score_thresh: float = 0.8,
                 stability_offset: float = 0.7, nms_thresh: float = 0.9, point_batch: int = 64):
        super().__init__()
        if model is None or processor is None:
            model, processor = load_sam2()
        self.model, self.processor = model, processor
        self.points_per_side, self.pred_iou_thresh = points_per_side, pred_iou_thresh
        self.stability_score_thresh, self.stability_offset = stability_score_thresh, stability_offset
        self.nms_thresh, self.point_batch = nms_thresh, point_batch

    def options_key(self) -> tuple:
        return (id(self.model), self.points_per_side, self.pred_iou_thresh, self.stability_score_thresh,
                self.stability_offset, self.nms_thresh)

    def _run(self, image: np.ndarray, embeddings, **prompts):
        """Mask logits at image size (prompts, 3, H, W) and predicted IoUs (prompts, 3) for one embedding."""
        import torch

        device = next(self.model.parameters()).device
        inputs = self.processor(original_sizes=[list(image.shape[:2])], return_tensors="pt", **prompts)
        tensors = {k: v.to(device) for k, v in inputs.items() if k in ("input_points", "input_labels", "input_boxes")}
        with torch.inference_mode():
            outputs = self.model(image_embeddings=embeddings, multimask_output=True, **tensors)
        logits = self.processor.post_process_masks(outputs.pred_masks.cpu(), inputs["original_sizes"], binarize=False)[0]
        return logits.float().numpy(), outputs.iou_scores[0].float().cpu().numpy()

    def _embeddings(self, image: np.ndarray):
        import torch

        device = next(self.model.parameters()).device
        pixel_values = self.processor(images=image, return_tensors="pt")["pixel_values"].to(device)
        with torch.inference_mode():
            return self.model.get_image_embeddings(pixel_values)

    def _automatic(self, image: np.ndarray) -> Segmentation:
        height, width = image.shape[:2]
        side = self.points_per_side
        xs = (np.arange(side) + 0.5) / side * width
        ys = (np.arange(side) + 0.5) / side * height
        points = [[[float(x), float(y)]] for y in ys for x in xs]
        embeddings = self._embeddings(image)
        masks, scores = [], []
        for start in range(0, len(points), self.point_batch):
            chunk = points[start:start + self.point_batch]
            logits, ious = self._run(image, embeddings, input_points=[chunk], input_labels=[[[1]] * len(chunk)])
            for point_logits, point_ious in zip(logits, ious, strict=True):
                best = int(np.argmax(point_ious))
                mask_logits = point_logits[best]
                high = (mask_logits > self.stability_offset).sum()
                low = (mask_logits > -self.stability_offset).sum()
                stability = float(high / low) if low else 0.0
                if point_ious[best] >= self.pred_iou_thresh and stability >= self.stability_score_thresh:
                    masks.append(mask_logits > 0.0)
                    scores.append(float(point_ious[best]))
        keep = [i for i in _nms(masks, scores, self.nms_thresh) if masks[i].any()]
        return sorted_segmentation([masks[i] for i in keep], [scores[i] for i in keep], method="sam2 point grid")

    def _prompted(self, image: np.ndarray, mask: np.ndarray) -> Segmentation:
        ys, xs = np.nonzero(mask)
        box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
        logits, ious = self._run(image, self._embeddings(image), input_boxes=[[box]],
                                    input_points=[[[list(_interior_point(mask))]]], input_labels=[[[1]]])
        candidates = logits[0] > 0.0
        overlaps = [(c & mask).sum() / max(1, (c | mask).sum()) for c in candidates]
        best = int(np.argmax(overlaps))
        chosen = candidates[best] if candidates[best].any() else mask.copy()
        return Segmentation((chosen,), np.array([float(ious[0][best])]), {"method": "sam2 box+point prompt",
                                                                            "overlap": float(overlaps[best])})
