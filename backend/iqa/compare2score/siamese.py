"""The offline comparator: a small siamese network that answers Compare2Score's question for an image pair.

Stands in for the paper's mPLUG-Owl2 comparator (Sec. 3.3) where no LMM weights can be downloaded: the
same contract -- five level probabilities of the second image relative to the first, trained with the
Eq. 2 labels of a scored set (``train``) -- at a size that trains in a few minutes on a CPU.

Architecture (``siamese_network``): each image is summarised by the hand-crafted no-reference statistics
of ``features`` (brightness, contrast, colourfulness and cast, sharpness at two scales, noise level,
blockiness, pixel repetition, BRISQUE-style MSCN statistics), standardised with the training set's mean and
spread; a shared MLP encoder maps them to an embedding, and a comparison head reads
``[e1, e2, e2 - e1, e1 * e2]``.
(A CNN encoder trained from scratch on random crops of the same 33 training photos was tried first and
generalised worse to held-out photos -- validation SRCC 0.33 against 0.5-0.6 for these statistics --
so the shipped comparator uses the statistics.) The head is exactly antisymmetric:
``logits(x1, x2) = h(e1, e2) + reverse(h(e2, e1))`` with ``reverse`` swapping inferior<->superior and
worse<->better, so swapping the images swaps the levels, ``P(a, b) = 1 - P(b, a)`` and ``P(a, a) = 0.5``
hold by construction (the paper requires both of P_a). Images are downscaled first so that the longer
side is at most ``max_side`` (the resolution of the training set: distortions are judged at that scale).

Weights (:mod:`backend.weights`): ``<folder>/model.safetensors`` holds the tensors and the network's
``SiameseConfig`` (sizes, dropout, ``max_side``) in its metadata; ``<folder>/model.json`` beside it is the
card (data, command, measured quality).

Speed: each image is measured and embedded once; comparing it with m anchors costs m evaluations of the
small head, and anchor embeddings are cached by content, so Compare2Score's m comparisons cost about one
feature extraction (a few tens of milliseconds).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backend import weights as weights_files
from backend.device import default_device
from backend.errors import InputError, ModelUnavailableError
from backend.images import content_hash
from backend.iqa.compare2score.comparators import Comparator, check_pair_lists
from backend.iqa.compare2score.features import FEATURE_NAMES, image_features
from backend.weights import ASSETS_DIR

DEFAULT_WEIGHTS = ASSETS_DIR / "compare2score" / "siamese"
WEIGHTS_FILE = "model.safetensors"
WHAT = "siamese comparator"
TRAIN_COMMAND = "python -m backend compare2score-train"


def prepare(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale (area) so the longer side is at most ``max_side``; returns RGB uint8."""
    import cv2

    height, width = image.shape[:2]
    if min(height, width) < 16:
        raise InputError(f"The image is {width}x{height}; the siamese comparator needs at least 16 pixels per side.")
    scale = max_side / max(height, width)
    if scale < 1:
        image = cv2.resize(image, (max(16, round(width * scale)), max(16, round(height * scale))), interpolation=cv2.INTER_AREA)
    return image


def measure(image: np.ndarray, max_side: int) -> np.ndarray:
    """The statistics the network reads, for one image at the comparator's working resolution."""

    return image_features(prepare(image, max_side)).astype(np.float32)


class SiameseComparator(Comparator):
    """The trained network behind the comparator protocol (registry name ``c2s-siamese``)."""

    name = "c2s-siamese"

    def __init__(self, weights_dir: str | Path | None = None, device: str | None = None, cache_size: int = 64):
        import torch

        from backend.iqa.compare2score.siamese_network import SiameseNet

        location = Path(weights_dir) if weights_dir else DEFAULT_WEIGHTS  # a weights folder, or its file
        path = location if location.suffix == ".safetensors" else location / WEIGHTS_FILE
        self.device = device or default_device()
        self.network, self.card = weights_files.load(path, SiameseNet, what=WHAT, train_hint=TRAIN_COMMAND,
                                                     device=self.device)
        if self.network.config.n_features != len(FEATURE_NAMES):
            raise ModelUnavailableError(f"'{path}' reads {self.network.config.n_features} image statistics, this "
                                        f"code measures {len(FEATURE_NAMES)}; retrain with `{TRAIN_COMMAND}`.")
        self.max_side = self.network.config.max_side
        self._torch = torch
        self._cache: OrderedDict[str, object] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._key = f"{self.name}:{path.resolve()}:{path.stat().st_mtime_ns}"

    @property
    def key(self) -> str:
        return self._key

    def embed(self, images: Sequence[np.ndarray], cache: bool = False):
        """Embeddings (N, d) of images (statistics measured once per image; optional content cache)."""

        torch = self._torch
        out: list[object] = [None] * len(images)
        keys = [content_hash(image) if cache else None for image in images]
        todo = []
        for index in range(len(images)):
            if cache:
                with self._lock:
                    out[index] = self._cache.get(keys[index])
            if out[index] is None:
                todo.append(index)
        if todo:
            features = torch.from_numpy(np.stack([measure(images[i], self.max_side) for i in todo])).to(self.device)
            with torch.inference_mode():
                embeddings = self.network.embed(features)
            for i, embedding in zip(todo, embeddings, strict=True):
                out[i] = embedding
                if cache:
                    with self._lock:
                        self._cache[keys[i]] = embedding
                        while len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
        return torch.stack(out)

    def _levels(self, first_embeddings, second_embeddings) -> np.ndarray:
        with self._torch.inference_mode():
            logits = self.network.compare_embeddings(first_embeddings, second_embeddings)
            return self._torch.softmax(logits.double(), dim=1).cpu().numpy()

    def compare_batch(self, firsts: Sequence[np.ndarray], seconds: Sequence[np.ndarray]) -> np.ndarray:
        check_pair_lists(firsts, seconds)
        if not firsts:
            return np.zeros((0, 5))
        embeddings = self.embed(list(firsts) + list(seconds))
        return self._levels(embeddings[: len(firsts)], embeddings[len(firsts):])

    def compare_with_anchors(self, anchors: Sequence[np.ndarray], images: Sequence[np.ndarray]) -> np.ndarray:
        check_pair_lists(list(anchors), list(anchors))
        check_pair_lists(list(images), list(images))
        anchor_embeddings = self.embed(anchors, cache=True)
        image_embeddings = self.embed(images)
        m, n = len(anchors), len(images)
        firsts = anchor_embeddings.repeat(n, 1)
        seconds = image_embeddings.repeat_interleave(m, dim=0)
        return self._levels(firsts, seconds).reshape(n, m, 5)
