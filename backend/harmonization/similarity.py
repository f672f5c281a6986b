"""Instance similarity and semantic routing without SAM embeddings (paper 002 Eq. 10-12, departures below).

Paper 002 embeds every SAM instance with an MLP on SAM's decoder tokens (Eq. 6-9), takes the cosine
similarity of each background instance embedding to the foreground query (Eq. 10-11), and writes each
instance's similarity into its pixels to get a spatial importance map (Eq. 12), resized to every decoder
scale. Here, with no trained embedding available offline, an instance is embedded by a hand-made,
colour-invariant descriptor (the foreground's colours are exactly what is wrong in a composite, so
colour must not decide who "looks like" it):

- a histogram of uniform local binary patterns (``skimage.feature.local_binary_pattern``, P=8, R=1; 10 bins)
  of the luminance standardised inside the instance, and
- a histogram of gradient magnitudes of that standardised luminance (8 bins, 0..4 sigma per pixel),

both square-rooted (Hellinger) and concatenated; the similarity is their cosine (Eq. 11), in [0, 1] since
the features are non-negative. The query is the foreground's own descriptor (the paper's "mean query
feature" of Eq. 10 pools the foreground instance's embedding). Instances are the segmenter's automatic
masks minus the foreground; the map holds 1 on the foreground, each instance's similarity on its pixels,
and 0 where no instance was found (Eq. 12). Everything is computed at ``WORK_SIDE`` pixels and the map is
resized back (nearest) to the image size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORK_SIDE = 256
MIN_INSTANCE_FRACTION = 0.002
LBP_BINS = 10
GRADIENT_BINS = 8


@dataclass
class InstanceSimilarity:
    instances: list[np.ndarray]  # bool masks at image size, background only
    similarity: np.ndarray  # (n,) cosine similarity to the foreground, in [0, 1]
    similarity_map: np.ndarray  # float32 HxW (Eq. 12)
    small_image: np.ndarray  # the composite at WORK_SIDE, and the instances at that size (for statistics)
    small_instances: list[np.ndarray]


def _downscale(image: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_NEAREST if image.dtype == bool else cv2.INTER_AREA
    resized = cv2.resize(image.astype(np.uint8) if image.dtype == bool else image, size, interpolation=interpolation)
    return resized.astype(bool) if image.dtype == bool else resized


def descriptors(image: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """(n, LBP_BINS + GRADIENT_BINS) colour-invariant texture descriptors of ``masks`` (same size as ``image``)."""
    from skimage import color, feature

    luminance = color.rgb2gray(image)
    lbp = feature.local_binary_pattern((luminance * 255).astype(np.uint8), 8, 1, method="uniform").astype(int)
    gy, gx = np.gradient(luminance)
    magnitude = np.hypot(gx, gy)
    rows = []
    for mask in masks:
        values = luminance[mask]
        spread = max(float(values.std()), 1e-3)
        lbp_hist = np.bincount(lbp[mask], minlength=LBP_BINS)[:LBP_BINS].astype(np.float64)
        grad_hist, _ = np.histogram(np.minimum(magnitude[mask] / spread, 3.999), bins=GRADIENT_BINS, range=(0, 4))
        row = np.concatenate([lbp_hist / max(1, lbp_hist.sum()), grad_hist / max(1, grad_hist.sum())])
        rows.append(np.sqrt(row))
    return np.array(rows).reshape(len(masks), LBP_BINS + GRADIENT_BINS)


def cosine(features: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Eq. 11: cosine similarity of each row of ``features`` to ``query``."""
    norms = np.linalg.norm(features, axis=1) * np.linalg.norm(query)
    return np.clip(features @ query / np.maximum(norms, 1e-12), 0.0, 1.0)


def instance_similarity(composite: np.ndarray, mask: np.ndarray, instance_masks: list[np.ndarray]) -> InstanceSimilarity:
    """Background instances, their similarity to the foreground and the routed map (module docstring)."""
    import cv2

    small, small_mask = _downscale(composite), _downscale(mask)
    if not small_mask.any():
        small_mask = cv2.resize(mask.astype(np.uint8), small.shape[1::-1], interpolation=cv2.INTER_AREA) > 0
    min_pixels = MIN_INSTANCE_FRACTION * small_mask.size
    instances, small_instances = [], []
    for instance in instance_masks:
        background = instance & ~mask
        small_background = _downscale(background) & ~small_mask
        if small_background.sum() >= max(min_pixels, 4):
            instances.append(background)
            small_instances.append(small_background)
    if small_instances:
        features = descriptors(small, [small_mask] + small_instances)
        similarity = cosine(features[1:], features[0])
    else:
        similarity = np.zeros(0)
    similarity_map = np.zeros(mask.shape, dtype=np.float32)
    for instance, value in zip(instances, similarity, strict=True):
        similarity_map[instance] = value
    similarity_map[mask] = 1.0
    return InstanceSimilarity(instances, similarity, similarity_map, small, small_instances)
