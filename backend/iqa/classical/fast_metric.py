"""A classical metric computed by our vectorised code (``backend.iqa.classical.fast``), equal to pyiqa 0.1.16
within 1e-4 (VIF: pyiqa's own float32 error, see ``fast.vif``), behind the registry's ``score`` protocol.

Images are checked against the card (reference present and of the same size), grouped by size, and each
group is scored in one call of :func:`backend.iqa.classical.fast.fast_scores`; results keep the input order.
"""

from __future__ import annotations

import numpy as np

from backend.iqa.classical.fast import fast_scores
from backend.protocols import ScoreResult, check_inputs
from backend.registry import ModelCard


class FastMetric:
    def __init__(self, card: ModelCard):
        self.card = card

    def score(self, image: np.ndarray, reference: np.ndarray | None = None, mask: np.ndarray | None = None) -> ScoreResult:
        return self.score_batch([image], None if reference is None else [reference])[0]

    def score_batch(self, images: list[np.ndarray], references: list[np.ndarray] | None = None) -> list[ScoreResult]:
        """Scores of ``images`` (and their references for a full-reference metric), any mix of sizes."""
        refs = list(references) if self.card.full_reference and references is not None else [None] * len(images)
        for image, reference in zip(images, refs, strict=True):
            check_inputs(self.card, image, reference, None)
        groups: dict[tuple, list[int]] = {}
        for index, image in enumerate(images):
            groups.setdefault(image.shape, []).append(index)
        scores = np.empty(len(images), dtype=np.float64)
        for members in groups.values():
            batch_refs = [refs[k] for k in members] if self.card.full_reference else None
            scores[members] = fast_scores(self.card.name, [images[k] for k in members], batch_refs)
        return [ScoreResult(float(value)) for value in scores]
