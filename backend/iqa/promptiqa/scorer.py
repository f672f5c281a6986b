"""Scoring images under a prompt (paper 004 Eq. 2): S = R(FM_IP(V(I), F_AC)), with F_AC cached per prompt.

:class:`PromptIQAScorer` wraps a network (the embedded one of ``weights`` or the authors' ViT-B/8). Images are
resized to the encoder's square input (176 px for the shipped ``features`` encoder, 128 px compact; area
filter down / cubic up; the public code resizes to
224x224), encoded in batches, and fused with the prompt's requirement tokens F_AC. F_AC depends only on
the prompt, so it is computed once and cached by the prompt's hash (``Prompt.key``, LRU of
``cache_size``); scores come back in the prompt's scale (``prompts`` module docstring).

The registry protocol ``score(image, reference=None, mask=None, prompt=None)`` needs ``prompt``: a
no-reference model that takes a prompt (card ``needs_prompt=True``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from backend.errors import InputError
from backend.iqa.promptiqa.data import network_input
from backend.protocols import Prompt, ScoreResult

MIN_SIDE = 8  # pixels: below this an image has no statistics to compare (paper 004's encoder sees 224 px)


class PromptIQAScorer:
    def __init__(self, network, input_size: int, card=None, info: dict | None = None, batch_size: int = 32,
                 cache_size: int = 32):
        import torch

        self._torch = torch
        self.network = network.eval()
        self.input_size = int(input_size)
        self.card = card
        self.info = info or {}
        self.batch_size = batch_size
        self._cache: OrderedDict[str, object] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # ------------------------------------------------------------------------------------------ parts

    def image_features(self, images: Sequence[np.ndarray]):
        """V(I) for RGB uint8 images, in batches: (N, 128) tensor."""

        torch = self._torch
        parts = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                chunk = [network_input(image, self.input_size) for image in images[start:start + self.batch_size]]
                batch = torch.from_numpy(np.stack(chunk).transpose(0, 3, 1, 2).copy()).float().div_(255.0)
                parts.append(self.network.encode_images(batch))
        return torch.cat(parts) if parts else torch.zeros((0, 128))

    def requirement_from(self, features, normalised_scores):
        """F_AC for prompt features (n, 128) and scores on [0, 1]: (1, n, 128)."""
        torch = self._torch
        with torch.inference_mode():
            scores = torch.as_tensor(np.asarray(normalised_scores, dtype=np.float32)).unsqueeze(0)
            return self.network.requirement(features.unsqueeze(0), scores)

    def requirement(self, prompt: Prompt):
        """F_AC of ``prompt``, from the cache when the same prompt was seen before."""
        key = prompt.key
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return cached
        shown = ([f"the prompt image '{n}'" for n in prompt.names] if len(prompt.names) == len(prompt.images)
                 else [f"prompt image {k + 1}" for k in range(len(prompt.images))])
        self._check_sizes(prompt.images, shown)
        features = self.image_features(list(prompt.images))
        self._check_features(features, shown)
        requirement = self.requirement_from(features, prompt.normalised())
        with self._lock:
            self.cache_misses += 1
            self._cache[key] = requirement
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return requirement

    def fuse(self, features, requirement) -> np.ndarray:
        """Scores on [0, 1] of encoded images under requirement tokens (batched)."""
        torch = self._torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(features), self.batch_size):
                out.append(self.network.score(features[start:start + self.batch_size], requirement))
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # -------------------------------------------------------------------------------------- public

    @staticmethod
    def _check_sizes(images: Sequence[np.ndarray], names: Sequence[str]) -> None:
        """Refuse images too small to have statistics (the others' models ask for 8x8 too)."""
        for image, name in zip(images, names, strict=True):
            if min(image.shape[:2]) < MIN_SIDE:
                raise InputError(f"PromptIQA cannot rate {name}: it is {image.shape[1]}x{image.shape[0]} pixels; "
                                 f"give an image of at least {MIN_SIDE}x{MIN_SIDE}.")

    def _check_features(self, features, names: Sequence[str]) -> None:
        """Refuse images whose encoding is not finite (flat or one-pixel images: their statistics divide by 0),
        instead of returning a NaN score (issue #20)."""
        bad = np.flatnonzero(~self._torch.isfinite(features).all(dim=1).cpu().numpy())
        if bad.size:
            raise InputError(f"PromptIQA cannot rate {names[bad[0]]}: it has no texture to measure (a flat or "
                             "tiny image); give an image with some detail, at least 8x8 pixels.")

    def score_images(self, images: Sequence[np.ndarray], prompt: Prompt,
                     names: Sequence[str] | None = None) -> np.ndarray:
        """Scores of images under ``prompt``, in the prompt's scale; ``names`` name the images in messages."""
        if prompt is None:
            raise InputError("PromptIQA scores by a prompt: give at least 2 images with a score each.")
        if not len(images):
            raise InputError("No image to score was given; upload at least one image.")
        shown = ([f"'{n}'" for n in names] if names is not None and len(names) == len(images)
                 else [f"image {k + 1}" for k in range(len(images))])
        self._check_sizes(images, shown)
        requirement = self.requirement(prompt)
        features = self.image_features(list(images))
        self._check_features(features, shown)
        scores = prompt.to_scale(self.fuse(features, requirement))
        if not np.all(np.isfinite(scores)):
            raise InputError("PromptIQA found no finite score under this prompt; check the prompt's images and scores.")
        return scores

    def score_batch(self, images, references=None, prompt: Prompt | None = None) -> list[ScoreResult]:
        scores = self.score_images(list(images), prompt)
        return [ScoreResult(float(s), {"prompt_pairs": len(prompt.images), "prompt_range": [prompt.low, prompt.high]})
                for s in scores]

    def score(self, image, reference=None, mask=None, prompt: Prompt | None = None) -> ScoreResult:
        return self.score_batch([image], prompt=prompt)[0]
