"""The five comparative levels: Eq. 2 (labels from MOS), Eq. 3 (soft comparison), the prompt (Sec. 3.2).

Prompt (paper Sec. 3.2; SPEC.md): the user asks "Compared with the first image, how is the quality of
the second image?" and the answer is "The quality of the second image is [level] to/than the first
image." A level therefore describes the SECOND image relative to the FIRST.

Sign convention of Eq. 2 (checked against that prompt). With ``i`` the first image and ``j`` the second,
``q_ij = q_i - q_j`` and ``s_ij = sqrt(s_i^2 + s_j^2)``:

    inferior  if q_ij > 2 s          (the first is much better: the second is inferior to it)
    worse     if s < q_ij <= 2 s
    similar   if -s < q_ij <= s
    better    if -2 s < q_ij <= -s
    superior  if q_ij <= -2 s        (printed as q_ij < -2s; the boundary -2s itself is given to
                                      "superior" so that the five intervals cover the line)

So the printed equation is consistent with the prompt when ``i`` is the first image of the pair: a
positive difference (first better) makes the second "inferior"/"worse". At the boundary q_ij = -s the
printed cases overlap ("similar" excludes it, "better" includes it): we follow the print (better).

Soft comparison (Eq. 3): ``P(first, second) = sum_k w_k p_k`` with ``w = (0, .25, .5, .75, 1)`` over
(inferior, worse, similar, better, superior): the probability that the SECOND image is preferred. The
count-matrix baseline of Table 3 replaces ``p`` by the one-hot vector of its argmax (a hard vote with the
same weights).
"""

from __future__ import annotations

import numpy as np

LEVELS = ("inferior", "worse", "similar", "better", "superior")
WEIGHTS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
QUESTION = "Compared with the first image, how is the quality of the second image?"
ANSWER_PREFIX = "The quality of the second image is"


def answer(level: str) -> str:
    """The full answer sentence of Sec. 3.2 ("similar to", otherwise "... than")."""
    joiner = "to" if level == "similar" else "than"
    return f"{ANSWER_PREFIX} {level} {joiner} the first image."


def level_index(mos_first, mos_second, std_first, std_second) -> np.ndarray:
    """Eq. 2: the level index (0 = inferior ... 4 = superior) of the second image of each pair."""
    difference = np.asarray(mos_first, dtype=np.float64) - np.asarray(mos_second, dtype=np.float64)
    spread = np.hypot(np.asarray(std_first, dtype=np.float64), np.asarray(std_second, dtype=np.float64))
    index = np.full(np.broadcast(difference, spread).shape, 2, dtype=np.int64)  # similar
    index = np.where(difference > spread, 1, index)
    index = np.where(difference > 2 * spread, 0, index)
    index = np.where(difference <= -spread, 3, index)
    index = np.where(difference <= -2 * spread, 4, index)
    return index


def level_names(indices) -> list[str]:
    return [LEVELS[int(i)] for i in np.ravel(indices)]


def soft_preference(probabilities: np.ndarray) -> np.ndarray:
    """Eq. 3: probability that the second image is preferred, from (..., 5) level probabilities."""
    return np.asarray(probabilities, dtype=np.float64) @ WEIGHTS


def hard_preference(probabilities: np.ndarray) -> np.ndarray:
    """Table 3's count-matrix baseline: the weight of the most probable level (a hard vote)."""
    return WEIGHTS[np.argmax(np.asarray(probabilities), axis=-1)]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis (Eq. 3's p); the public code divides the logits by 100 first."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=-1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=-1, keepdims=True)


def flip_levels(probabilities: np.ndarray) -> np.ndarray:
    """Level probabilities of the reversed pair (inferior <-> superior, worse <-> better)."""
    return np.asarray(probabilities)[..., ::-1]
