"""A synthetic comparator for exact tests: an image's quality is its mean pixel value / 50."""

from __future__ import annotations

import numpy as np

from backend.iqa.compare2score.comparators import Comparator
from backend.iqa.compare2score.thurstone_nr import level_probabilities


def flat(value: float, size: int = 24) -> np.ndarray:
    return np.full((size, size, 3), int(round(value)), dtype=np.uint8)


class MeanComparator(Comparator):
    """Quality = mean / 50; Thurstone levels with unit spread; counts its calls."""

    name = "mean-test"

    def __init__(self, spread: float = 0.6, significance: float = 0.5):
        self.spread, self.significance, self.calls = spread, significance, 0

    def compare_batch(self, firsts, seconds):
        self.calls += 1
        q1 = np.array([f.mean() / 50.0 for f in firsts])
        q2 = np.array([s.mean() / 50.0 for s in seconds])
        return level_probabilities(q1 - q2, self.spread, self.significance)
