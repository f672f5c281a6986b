"""The offline comparator: a small siamese CNN that answers Compare2Score's question for an image pair.

Stands in for the paper's mPLUG-Owl2 comparator (Sec. 3.3) where no LMM weights can be downloaded: the
same contract -- five level probabilities of the second image relative to the first, trained with the
Eq. 2 labels of a scored set (``train``) -- at a size that trains in minutes on a CPU.

Architecture: a shared encoder (a 4x4 stride-4 "patch" convolution, which still sees every pixel and can
learn the high-pass filters that reveal noise, blur and blocking, then three strided 3x3 conv stages,
all with batch norm; mean and standard deviation pooling of the four stages, so both global statistics -- brightness, contrast, colour -- and local
ones -- noise, blur, blocking -- reach the embedding) and a comparison head on
``[e1, e2, e2 - e1, e1 * e2]``. The head is made exactly antisymmetric: ``logits(x1, x2) = h(e1, e2) +
reverse(h(e2, e1))`` with ``reverse`` swapping inferior<->superior and worse<->better, so swapping the
images swaps the levels, ``P(a, b) = 1 - P(b, a)`` and ``P(a, a) = 0.5`` hold by construction (the
paper requires both of P_a). It is fully convolutional: trained on random crops at the stored
resolution, it sees whole images at inference, after downscaling them so the longer side is at most
``max_side`` (the resolution of the training set; distortions are judged at that scale).

Speed: each image is embedded once; comparing it with m anchors costs m evaluations of the small head,
and anchor embeddings are cached by content, so Compare2Score's m comparisons cost about one embedding.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.compare2score.comparators import Comparator, check_pair_lists
from backend.registry import ASSETS_DIR

DEFAULT_WEIGHTS = ASSETS_DIR / "compare2score" / "siamese"
WEIGHTS_FILE, CARD_FILE = "model.safetensors", "card.json"
DEFAULT_CONFIG = {"widths": [32, 48, 64, 96], "embedding": 128, "max_side": 384}


def build_network(widths=(32, 48, 64, 96), embedding: int = 128):
    """The torch module (built inside a function so that importing this module stays light)."""
    import torch
    from torch import nn

    def conv(cin, cout, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class SiameseNet(nn.Module):
        def __init__(self):
            super().__init__()
            c1, c2, c3, c4 = widths
            stem = nn.Sequential(nn.Conv2d(3, c1, 4, 4, bias=False), nn.BatchNorm2d(c1), nn.ReLU(inplace=True))
            self.stages = nn.ModuleList([
                stem,
                conv(c1, c2, 2),
                nn.Sequential(conv(c2, c3, 2), conv(c3, c3, 1)),
                nn.Sequential(conv(c3, c4, 2), conv(c4, c4, 1)),
            ])
            self.project = nn.Linear(2 * sum(widths), embedding)
            self.head = nn.Sequential(nn.Linear(4 * embedding, embedding), nn.ReLU(inplace=True), nn.Linear(embedding, 5))
            self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1))
            self.register_buffer("scale", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1))

        def embed(self, images):
            """(B, 3, H, W) float in 0..1 -> (B, embedding)."""
            x = (images - self.mean) / self.scale
            pooled = []
            for stage in self.stages:
                x = stage(x)
                pooled += [x.mean(dim=(2, 3)), x.flatten(2).std(dim=2)]
            return self.project(torch.cat(pooled, dim=1))

        def half_logits(self, e1, e2):
            return self.head(torch.cat([e1, e2, e2 - e1, e1 * e2], dim=1))

        def compare_embeddings(self, e1, e2):
            """Antisymmetric level logits of the second image relative to the first."""
            return self.half_logits(e1, e2) + self.half_logits(e2, e1).flip(-1)

        def forward(self, first, second):
            return self.compare_embeddings(self.embed(first), self.embed(second))

    return SiameseNet()


def prepare(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale (area) so the longer side is at most ``max_side``; returns float32 CHW in 0..1."""
    import cv2

    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1:
        image = cv2.resize(image, (max(8, round(width * scale)), max(8, round(height * scale))), interpolation=cv2.INTER_AREA)
    if min(image.shape[:2]) < 16:
        raise InputError(f"The image is {width}x{height}; the siamese comparator needs at least 16 pixels per side.")
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / 255.0


class SiameseComparator(Comparator):
    """The trained network behind the comparator protocol (registry name ``c2s-siamese``)."""

    name = "c2s-siamese"

    def __init__(self, weights_dir: str | Path | None = None, device: str | None = None, cache_size: int = 64):
        import torch
        from safetensors.torch import load_file

        from backend.device import default_device

        folder = Path(weights_dir) if weights_dir else DEFAULT_WEIGHTS
        if not (folder / WEIGHTS_FILE).is_file():
            raise ModelUnavailableError(
                f"The siamese comparator weights are missing from '{folder}'; train them with "
                "`python -m backend compare2score-train` (see assets/compare2score/siamese/card.json).")
        card_path = folder / CARD_FILE
        self.card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        config = {**DEFAULT_CONFIG, **self.card.get("config", {})}
        self.max_side = int(config["max_side"])
        self.device = device or default_device()
        self.network = build_network(tuple(config["widths"]), int(config["embedding"]))
        self.network.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        self.network.to(self.device).eval()
        self._torch = torch
        self._cache: OrderedDict[str, object] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._key = f"{self.name}:{folder.resolve()}:{(folder / WEIGHTS_FILE).stat().st_mtime_ns}"

    @property
    def key(self) -> str:
        return self._key

    def embed(self, images: Sequence[np.ndarray], cache: bool = False):
        """Embeddings (N, d) of images; same-size images share one forward pass."""
        from backend.images import content_hash

        torch = self._torch
        out: list[object] = [None] * len(images)
        keys = [content_hash(image) if cache else None for image in images]
        todo: dict[tuple, list[int]] = {}
        for index, image in enumerate(images):
            if cache:
                with self._lock:
                    hit = self._cache.get(keys[index])
                if hit is not None:
                    out[index] = hit
                    continue
            prepared = prepare(image, self.max_side)
            todo.setdefault(prepared.shape, []).append(index)
            out[index] = prepared
        with torch.inference_mode():
            for indices in todo.values():
                batch = torch.from_numpy(np.stack([out[i] for i in indices])).to(self.device)
                embeddings = self.network.embed(batch)
                for i, embedding in zip(indices, embeddings):
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
