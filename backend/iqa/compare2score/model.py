"""Compare2Score behind the registry's ``score`` protocol (paper 001 Sec. 3.4): a comparator and an anchor
set, both built once and given to the model, then :func:`backend.iqa.compare2score.scoring.score_images`
for every batch (details hold every step: level probabilities, the matrix, the MAP scale)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.iqa.compare2score.anchors import AnchorSet
from backend.iqa.compare2score.comparators import Comparator
from backend.iqa.compare2score.scoring import score_images
from backend.protocols import ScoreResult
from backend.registry import ModelCard


class Compare2ScoreModel:
    def __init__(self, card: ModelCard, comparator: Comparator, anchors: AnchorSet, matrix: str = "probability",
                 normalisation: str = "mos"):
        self.card, self.comparator, self.anchors = card, comparator, anchors
        self.matrix, self.normalisation = matrix, normalisation

    def score_batch(self, images: Sequence[np.ndarray], references=None) -> list[ScoreResult]:
        return score_images(self.comparator, self.anchors, list(images), matrix=self.matrix,
                            normalisation=self.normalisation)

    def score(self, image: np.ndarray, reference=None, mask=None) -> ScoreResult:
        return self.score_batch([image])[0]
