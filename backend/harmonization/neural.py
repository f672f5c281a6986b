"""The trained semantic-routed network as a harmonizer (paper 002 Sec. 3.1 pipeline, end to end).

Pipeline: segment the composite (SAM 2 when present, else the offline segmenter) -> instance similarity
map (``similarity.py``, Eq. 10-12) -> composite, mask and map resized to the model's square working size
-> network (``network.py``) predicts a per-pixel affine colour transform -> the transform is upsampled
(bilinear) to the composite's full size and applied to its foreground. Working at a fixed small size keeps
CPU inference fast at any resolution; the transform is smooth, so upsampling loses no image detail.

Weights are written and read by :mod:`backend.weights`: a safetensors file (tensors, and the network's
``NetworkConfig`` in its metadata) with a JSON card beside it (``<name>.json``: working size, data, command,
measured metrics).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend import weights as weights_files
from backend.harmonization.base import HarmonizationResult, check_pair
from backend.harmonization.similarity import instance_similarity
from backend.registry import ModelCard
from backend.segmentation.models import get_segmenter

WHAT = "harmonization network"
TRAIN_COMMAND = "python -m backend harmonization train"


def resize_square(array: np.ndarray, size: int) -> np.ndarray:
    """Area-resize an image (uint8 HxWx3) or a map (float/bool HxW) to size x size, as float32 in [0, 1]."""
    import cv2

    values = array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0)
    interpolation = cv2.INTER_AREA if min(array.shape[:2]) >= size else cv2.INTER_LINEAR
    return cv2.resize(values, (size, size), interpolation=interpolation)


def network_inputs(composite: np.ndarray, mask: np.ndarray, similarity_map: np.ndarray, size: int):
    """(composite, mask, similarity) tensors of shape 1xCxSxS for the network."""
    import torch

    comp = torch.from_numpy(resize_square(composite, size)).permute(2, 0, 1)[None]
    soft_mask = torch.from_numpy(resize_square(mask, size))[None, None]
    similarity = torch.from_numpy(resize_square(similarity_map.astype(np.float32), size))[None, None]
    return comp, soft_mask, similarity


def load_network(path: str | Path):
    """``(SemanticRoutedHarmonizer in eval mode, card)`` from weights written by :func:`backend.weights.save`."""
    from backend.harmonization.network import SemanticRoutedHarmonizer

    return weights_files.load(path, SemanticRoutedHarmonizer, what=WHAT, train_hint=TRAIN_COMMAND)


class NetworkHarmonizer:
    def __init__(self, card: ModelCard, weights: str | Path | None = None, segmenter: str | None = None,
                 network=None, work_size: int | None = None):
        self.card, self.segmenter_name = card, segmenter
        if network is None:
            network, model_card = load_network(weights)
            work_size = work_size or model_card.get("work_size")
        self.network = network
        self.work_size = int(work_size or 64)

    def harmonize(self, composite: np.ndarray, mask: np.ndarray) -> HarmonizationResult:
        import torch

        from backend.harmonization.network import apply_transform

        composite, mask = check_pair(composite, mask)
        segmenter = get_segmenter(self.segmenter_name)
        routed = instance_similarity(composite, mask, list(segmenter.segment(composite).masks))
        comp, soft_mask, similarity = network_inputs(composite, mask, routed.similarity_map, self.work_size)
        with torch.inference_mode():
            transform = self.network(comp, soft_mask, similarity)
            full = torch.tensor(composite).permute(2, 0, 1)[None].float() / 255.0  # a copy: decoded arrays are read-only
            full_mask = torch.from_numpy(mask)[None, None].float()
            out = apply_transform(full, full_mask, transform)
        image = (out[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
        image[~mask] = composite[~mask]
        details = {"similarity_map": routed.similarity_map, "instances": routed.instances,
                   "instance_similarity": routed.similarity, "segmenter": segmenter.name}
        return HarmonizationResult(image, details)
