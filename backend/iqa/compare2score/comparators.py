"""The comparator protocol of Compare2Score (paper 001 Sec. 3.3): five level probabilities per image pair.

A comparator answers the question of Sec. 3.2 for an ordered pair (first, second): the probabilities of
(inferior, worse, similar, better, superior) for the SECOND image relative to the FIRST (see
``levels``). Implementations:

- ``siamese.SiameseComparator``: the offline network trained here (registry ``c2s-siamese``).
- ``thurstone_nr.ThurstoneComparator``: any registry no-reference model through Thurstone's model
  (registry ``nr-thurstone``; ``nr-thurstone:<model>`` names a scorer).
- ``vlm_comparator.VLMComparator``: a transformers image-text-to-text model (``vlm``, ``q-future``).

All take RGB uint8 arrays (``backend.images.load_image`` makes them). ``compare_batch`` is the batched
form; ``compare_with_anchors`` compares every image (second) against every anchor (first), the layout
Compare2Score needs, and implementations may override it to reuse per-image work (the siamese network
embeds each image once).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.errors import InputError


class Comparator:
    """Base class: subclasses implement ``compare_batch``; ``key`` identifies the comparator for caches."""

    name: str = "comparator"

    @property
    def key(self) -> str:
        return self.name

    def compare_batch(self, firsts: Sequence[np.ndarray], seconds: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 5) level probabilities of ``seconds[k]`` relative to ``firsts[k]``."""
        raise NotImplementedError

    def compare(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """The five level probabilities of ``second`` relative to ``first`` (sum 1)."""
        return self.compare_batch([first], [second])[0]

    def compare_with_anchors(self, anchors: Sequence[np.ndarray], images: Sequence[np.ndarray]) -> np.ndarray:
        """(n_images, n_anchors, 5): each image as the second image against each anchor as the first."""
        firsts = [anchor for _ in images for anchor in anchors]
        seconds = [image for image in images for _ in anchors]
        return self.compare_batch(firsts, seconds).reshape(len(images), len(anchors), 5)


def check_pair_lists(firsts: Sequence[np.ndarray], seconds: Sequence[np.ndarray]) -> None:
    if len(firsts) != len(seconds):
        raise InputError(f"Got {len(firsts)} first images and {len(seconds)} second images; give them in pairs.")
    for image in (*firsts, *seconds):
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise InputError("Comparators take RGB uint8 images (HxWx3); decode them with backend.images.load_image.")


def check_probabilities(probabilities: np.ndarray, who: str) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] != 5 or not np.all(np.isfinite(probabilities)):
        raise InputError(f"The comparator '{who}' returned invalid level probabilities {probabilities.shape}.")
    return probabilities / probabilities.sum(axis=1, keepdims=True)
