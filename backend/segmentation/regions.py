"""Offline segmenter: graph-based superpixels merged on a region adjacency graph (no weights needed).

Stands in for SAM's automatic mode (paper 002 Sec. 3.2) where SAM 2 weights are absent. Steps:
1. the image is downscaled so its long side is at most ``work_side`` pixels (speed; masks are upsampled
   back with nearest-neighbour);
2. Felzenszwalb-Huttenlocher graph segmentation (``skimage.segmentation.felzenszwalb``) gives
   over-segmented superpixels;
3. adjacent regions whose mean CIELAB colours differ by less than ``merge_threshold`` are merged
   (a threshold cut of the region adjacency graph, as ``skimage.graph.cut_threshold`` does);
4. regions smaller than ``min_fraction`` of the image are absorbed by nothing and dropped, so the result
   is a list of instance-like masks that may leave small gaps (like SAM's).

Scores are each region's colour homogeneity ``exp(-std_Lab / 20)``: not a calibrated probability, but
ordered like SAM's predicted IoU (compact, uniform regions first). The prompt mode returns the union of
regions that the foreground mask covers by at least half, or the mask itself when none does (it "snaps"
the mask to region boundaries, which is what a mask prompt does in SAM).
"""

from __future__ import annotations

import numpy as np

from backend.segmentation.base import Segmentation, Segmenter


def _resize_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    if labels.shape == shape:
        return labels
    return cv2.resize(labels.astype(np.int32), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def _resize_image(image: np.ndarray, side: int) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1.0:
        return image
    return cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)


def merge_below_threshold(superpixels: np.ndarray, lab: np.ndarray, threshold: float) -> np.ndarray:
    """Merge adjacent superpixels whose mean CIELAB colours differ by less than ``threshold``.

    Same result as ``skimage.graph.cut_threshold`` on ``rag_mean_color(lab, superpixels)`` (connected
    components of the region adjacency graph after removing edges at or above the threshold), built with
    numpy and ``scipy.sparse.csgraph`` because the networkx graph costs ~0.3 s per image.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _, labels = np.unique(superpixels, return_inverse=True)
    labels = labels.reshape(superpixels.shape)
    count = int(labels.max()) + 1
    sums = np.stack([np.bincount(labels.ravel(), lab[..., c].ravel(), count) for c in range(3)], axis=1)
    means = sums / np.bincount(labels.ravel(), minlength=count)[:, None]
    pairs = np.concatenate([
        np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], axis=1),
        np.stack([labels[:-1, :].ravel(), labels[1:, :].ravel()], axis=1),
    ])
    pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
    close = np.linalg.norm(means[pairs[:, 0]] - means[pairs[:, 1]], axis=1) < threshold
    pairs = pairs[close]
    adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, component = connected_components(adjacency, directed=False)
    return component[labels]


def superpixels_and_lab(image: np.ndarray, scale: float = 200.0, sigma: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Felzenszwalb-Huttenlocher superpixels (step 2) of ``image`` as it is, and its CIELAB pixels."""
    from skimage import color, segmentation

    lab = color.rgb2lab(image)
    min_size = max(16, image.shape[0] * image.shape[1] // 1500)
    return segmentation.felzenszwalb(image, scale=scale, sigma=sigma, min_size=min_size), lab


def region_labels(
    image: np.ndarray, work_side: int = 256, scale: float = 200.0, merge_threshold: float = 10.0
) -> np.ndarray:
    """Region labels (int, 0..n-1) of ``image`` at its full size (steps 1-3 of the module docstring)."""
    superpixels, lab = superpixels_and_lab(_resize_image(image, work_side), scale)
    merged = merge_below_threshold(superpixels, lab, merge_threshold)
    return _resize_labels(merged, image.shape[:2])


def region_proposals(image: np.ndarray, merge_thresholds: tuple[float, ...], scale: float = 200.0,
                     sigma: float = 0.8, area: tuple[float, float] = (0.0, 1.0)) -> list[np.ndarray]:
    """The distinct regions of a merge hierarchy: one set of superpixels of ``image`` (at its own size, no
    smoothing when ``sigma`` is 0) merged at each of ``merge_thresholds`` in turn (step 3); each region whose
    share of the image lies in ``area`` is listed once, at the first threshold that forms it."""
    superpixels, lab = superpixels_and_lab(image, scale, sigma)
    seen: set[bytes] = set()
    regions = []
    for threshold in merge_thresholds:
        labels = merge_below_threshold(superpixels, lab, threshold)
        for value in range(int(labels.max()) + 1):
            region = labels == value
            key = np.packbits(region).tobytes()
            if key in seen or not area[0] <= region.mean() <= area[1]:
                continue
            seen.add(key)
            regions.append(region)
    return regions


class RegionSegmenter(Segmenter):
    name = "regions"

    def __init__(self, work_side: int = 256, scale: float = 200.0, merge_threshold: float = 10.0,
                 min_fraction: float = 0.002):
        super().__init__()
        self.work_side, self.scale, self.merge_threshold, self.min_fraction = work_side, scale, merge_threshold, min_fraction

    def options_key(self) -> tuple:
        return (self.work_side, self.scale, self.merge_threshold, self.min_fraction)

    def _automatic(self, image: np.ndarray) -> Segmentation:
        from skimage import color

        small = _resize_image(image, self.work_side)
        labels = region_labels(image, self.work_side, self.scale, self.merge_threshold)
        small_labels = _resize_labels(labels, small.shape[:2])
        count = int(labels.max()) + 1
        areas = np.bincount(labels.ravel(), minlength=count)
        lab = color.rgb2lab(small).reshape(-1, 3)
        flat = small_labels.ravel()
        pixels = np.maximum(np.bincount(flat, minlength=count), 1)
        means = np.stack([np.bincount(flat, lab[:, c], count) for c in range(3)], axis=1) / pixels[:, None]
        squares = np.stack([np.bincount(flat, lab[:, c] ** 2, count) for c in range(3)], axis=1) / pixels[:, None]
        spread = np.sqrt(np.maximum(squares - means**2, 0.0)).mean(axis=1)
        keep = [v for v in np.argsort(-areas, kind="stable") if areas[v] >= max(1, self.min_fraction * labels.size)]
        masks = [labels == v for v in keep]
        scores = [float(np.exp(-spread[v] / 20.0)) for v in keep]
        return Segmentation(tuple(masks), np.array(scores, dtype=np.float64),
                            {"method": "felzenszwalb+cielab merge", "regions": count})

    def _prompted(self, image: np.ndarray, mask: np.ndarray) -> Segmentation:
        regions = self._automatic_cached(image)
        chosen = np.zeros_like(mask)
        for region in regions.masks:
            if (region & mask).sum() >= 0.5 * region.sum():
                chosen |= region
        if not chosen.any():
            chosen = mask.copy()
        overlap = (chosen & mask).sum() / max(1, (chosen | mask).sum())
        return Segmentation((chosen,), np.array([float(overlap)]), {"method": "region snapping"})

    def _automatic_cached(self, image: np.ndarray) -> Segmentation:
        return self.segment(image)
