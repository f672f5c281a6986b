"""Compare2Score scoring (paper 001 Sec. 3.4, Eq. 3, 5, 6): anchors -> P_a, b -> P -> MAP -> score.

For a test image x and anchors a_1..a_m (ascending MOS):

1. Soft comparison (Eq. 3) of x, as the SECOND image, against every anchor as the FIRST:
   ``b_n = sum_k w_k p_k(a_n, x)`` = probability that x is preferred over a_n (``levels``).
2. Anchor matrix P_a from comparisons of the anchors with each other, computed once per (comparator,
   anchor set, matrix kind) and cached. Both orders are compared and averaged, which enforces the
   paper's P(a_i, a_j) = 1 - P(a_j, a_i) and P(a_i, a_i) = 0.5 for any comparator.
3. Full matrix (Eq. 5), stored as "row beats column" (``W[i, j]`` = probability that i is preferred
   over j, the count-matrix convention of Eq. 1 that Eq. 6 sums over): ``W[x, a_n] = b_n``,
   ``W[a_n, x] = 1 - b_n``, diagonal 0.5. The paper prints ``[[P_a, b], [1 - b, 0.5]]`` with b in the last
   column; with P(a, x) meaning "the second image (x) is better", that printed matrix is "column beats
   row" and Eq. 6 reads it transposed. The public code builds exactly our ``W`` (b in the test row).
4. MAP (Eq. 6): Thurstone Case V, ``max sum_ij W_ij log Phi(q_i - q_j) - sum_i q_i^2 / 2``, ``sum q = 0``
   (the printed prior lacks the square; SPEC.md), solved to convergence by the batched Newton solver of
   ``backend.scaling.pairwise`` (all images of a batch at once). The public code instead runs 100 Adam
   steps (lr 0.1) from a random start, and with a sigmoid link in one of its two paths.
5. Score. Default ``normalisation="mos"``: the anchors' MAP scale values are mapped to their MOS by least
   squares (``mos ~ alpha + beta q``) and the test image's score is ``alpha + beta q_x`` -- on the anchors'
   MOS scale, and linear in q_x, so an image better (worse) than every anchor gets a score above (below)
   the best (worst) anchor's MOS that still orders such images among themselves. The public code's
   ``normalisation="minmax"``, ``100 (q_x - min q) / (max q - min q)`` over the m + 1 items, is exactly 100
   for every image that beats all anchors and 0 for every image below all of them (saturation: the
   identical scores users report); it is offered for comparison.

``matrix="count"`` is Table 3's count-matrix baseline: the argmax level as a hard vote instead of the
probabilities (in P_a and b alike).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from backend.errors import InputError
from backend.iqa.compare2score.anchors import AnchorSet
from backend.iqa.compare2score.comparators import Comparator, check_probabilities
from backend.iqa.compare2score.levels import LEVELS, hard_preference, soft_preference
from backend.protocols import ScoreResult
from backend.scaling.pairwise import thurstone_map_batch

MATRICES = ("probability", "count")
NORMALISATIONS = ("mos", "minmax")
PRIOR_STRENGTH = 1.0
_CACHE_SIZE = 32
_anchor_cache: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_cache_lock = threading.Lock()


def _check_option(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InputError(f"Unknown {what} '{value}'; use one of {', '.join(allowed)}.")


def preferences(probabilities: np.ndarray, matrix: str = "probability") -> np.ndarray:
    """Eq. 3 (``probability``) or the hard vote of Table 3 (``count``) from (..., 5) level probabilities."""
    _check_option(matrix, MATRICES, "matrix kind")
    return soft_preference(probabilities) if matrix == "probability" else hard_preference(probabilities)


def anchor_level_probabilities(comparator: Comparator, anchors: AnchorSet) -> np.ndarray:
    """(m, m, 5): ``L[i, j]`` = levels of anchor j (second) relative to anchor i (first); diagonal "similar"."""
    m = len(anchors)
    pairs = [(i, j) for i in range(m) for j in range(m) if i != j]
    probabilities = comparator.compare_batch([anchors.images[i] for i, _ in pairs], [anchors.images[j] for _, j in pairs])
    probabilities = check_probabilities(probabilities, comparator.name)
    levels = np.zeros((m, m, 5))
    levels[np.arange(m), np.arange(m), LEVELS.index("similar")] = 1.0
    for (i, j), p in zip(pairs, probabilities):
        levels[i, j] = p
    return levels


def anchor_matrix_from_levels(levels: np.ndarray, matrix: str = "probability") -> np.ndarray:
    """P_a as "row beats column" from ``anchor_level_probabilities``: both orders averaged, diagonal 0.5."""
    second_wins = preferences(levels, matrix)  # [i, j] = P(j preferred over i)
    wins = 0.5 * ((1.0 - second_wins) + second_wins.T)
    np.fill_diagonal(wins, 0.5)
    return wins


def anchor_matrix(comparator: Comparator, anchors: AnchorSet, matrix: str = "probability") -> tuple[np.ndarray, np.ndarray]:
    """(P_a, anchor level probabilities), cached per (comparator, anchor set, matrix kind)."""
    _check_option(matrix, MATRICES, "matrix kind")
    key = (comparator.key, anchors.key, matrix)
    with _cache_lock:
        if key in _anchor_cache:
            _anchor_cache.move_to_end(key)
            return _anchor_cache[key]
    levels = anchor_level_probabilities(comparator, anchors)
    value = (anchor_matrix_from_levels(levels, matrix), levels)
    with _cache_lock:
        _anchor_cache[key] = value
        while len(_anchor_cache) > _CACHE_SIZE:
            _anchor_cache.popitem(last=False)
    return value


def clear_anchor_cache() -> None:
    with _cache_lock:
        _anchor_cache.clear()


def full_matrix(anchor_wins: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Eq. 5 for a batch: (B, m + 1, m + 1) "row beats column" with the test image last."""
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    batch, m = b.shape
    if anchor_wins.shape != (m, m):
        raise InputError(f"P_a is {anchor_wins.shape} but b has {m} entries; they must describe the same anchors.")
    wins = np.empty((batch, m + 1, m + 1))
    wins[:, :m, :m] = anchor_wins
    wins[:, m, :m] = b
    wins[:, :m, m] = 1.0 - b
    wins[:, m, m] = 0.5
    return wins


def solve_map(wins: np.ndarray, prior_strength: float = PRIOR_STRENGTH) -> tuple[np.ndarray, np.ndarray, dict]:
    """Eq. 6 for a batch of matrices: scale values q (B, n), Laplace standard errors, solver info."""

    q, info = thurstone_map_batch(wins, prior_strength=prior_strength, tol=1e-10, max_iter=100)
    return q, info["se"], info


def mos_mapping(anchor_q: np.ndarray, anchor_mos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``mos ~ alpha + beta q`` per row of ``anchor_q`` (B, m): returns (alpha, beta)."""
    anchor_q = np.atleast_2d(anchor_q)
    q_centred = anchor_q - anchor_q.mean(axis=1, keepdims=True)
    mos_centred = anchor_mos - anchor_mos.mean()
    beta = (q_centred @ mos_centred) / np.maximum(np.sum(q_centred**2, axis=1), 1e-300)
    alpha = anchor_mos.mean() - beta * anchor_q.mean(axis=1)
    return alpha, beta


def minmax_scores(q: np.ndarray) -> np.ndarray:
    """The public code's score: 100 (q_test - min q) / (max q - min q) over all items (test last)."""
    q = np.atleast_2d(q)
    span = q.max(axis=1) - q.min(axis=1)
    return 100.0 * (q[:, -1] - q.min(axis=1)) / np.where(span > 0, span, 1.0)


def score_from_b(anchor_wins: np.ndarray, b: np.ndarray, anchor_mos: np.ndarray,
                 normalisation: str = "mos", prior_strength: float = PRIOR_STRENGTH) -> dict:
    """Steps 3-5 for a batch of b vectors; returns arrays (scores, q, se, P, alpha, beta, minmax, info)."""
    _check_option(normalisation, NORMALISATIONS, "normalisation")
    wins = full_matrix(anchor_wins, b)
    q, se, info = solve_map(wins, prior_strength)
    alpha, beta = mos_mapping(q[:, :-1], np.asarray(anchor_mos, dtype=np.float64))
    on_mos = alpha + beta * q[:, -1]
    minmax = minmax_scores(q)
    return {"scores": on_mos if normalisation == "mos" else minmax, "score_mos": on_mos, "score_minmax": minmax,
            "q": q, "se": se, "P": wins, "alpha": alpha, "beta": beta, "converged": info["converged"]}


def score_images(
    comparator: Comparator,
    anchors: AnchorSet,
    images: Sequence[np.ndarray],
    matrix: str = "probability",
    normalisation: str = "mos",
    both_orders: bool = False,
    prior_strength: float = PRIOR_STRENGTH,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> list[ScoreResult]:
    """Compare2Score for each image; ``details`` hold every intermediate step (for the inspector and --json).

    ``both_orders`` also compares each image as the FIRST image and averages (the paper compares the
    anchor first only; this doubles the comparator cost but cancels order bias).
    """
    _check_option(matrix, MATRICES, "matrix kind")
    _check_option(normalisation, NORMALISATIONS, "normalisation")
    if not images:
        raise InputError("No image was given; give at least one image to score.")
    anchor_wins, anchor_levels = anchor_matrix(comparator, anchors, matrix)
    results: list[ScoreResult] = []
    for start in range(0, len(images), batch_size):
        chunk = list(images[start:start + batch_size])
        began = time.perf_counter()
        levels = comparator.compare_with_anchors(anchors.images, chunk)  # (B, m, 5)
        levels = check_probabilities(levels.reshape(-1, 5), comparator.name).reshape(len(chunk), len(anchors), 5)
        b = preferences(levels, matrix)
        reversed_levels = None
        if both_orders:
            firsts = [image for image in chunk for _ in anchors.images]
            seconds = [anchor for _ in chunk for anchor in anchors.images]
            reversed_levels = check_probabilities(comparator.compare_batch(firsts, seconds), comparator.name)
            reversed_levels = reversed_levels.reshape(len(chunk), len(anchors), 5)
            b = 0.5 * (b + 1.0 - preferences(reversed_levels, matrix))
        compared = time.perf_counter()
        solved = score_from_b(anchor_wins, b, anchors.mos, normalisation, prior_strength)
        finished = time.perf_counter()
        per_image_compare = (compared - began) / len(chunk)
        per_image_map = (finished - compared) / len(chunk)
        for k in range(len(chunk)):
            details = {
                "comparator": comparator.name,
                "anchors": [{"name": n, "mos": float(m), "mos_std": float(s)}
                            for n, m, s in zip(anchors.names, anchors.mos, anchors.mos_std)],
                "levels": list(LEVELS),
                "level_probabilities": levels[k].tolist(),
                "b": b[k].tolist(),
                "P": solved["P"][k].tolist(),
                "anchor_level_probabilities": anchor_levels.tolist(),
                "q": solved["q"][k].tolist(),
                "se": solved["se"][k].tolist(),
                "score_mos": float(solved["score_mos"][k]),
                "score_minmax": float(solved["score_minmax"][k]),
                "mapping": {"alpha": float(solved["alpha"][k]), "beta": float(solved["beta"][k])},
                "matrix": matrix,
                "normalisation": normalisation,
                "converged": bool(solved["converged"][k]),
                "seconds_compare": per_image_compare,
                "seconds_map": per_image_map,
            }
            if reversed_levels is not None:
                details["level_probabilities_reversed"] = reversed_levels[k].tolist()
            if solved["beta"][k] <= 0:
                details["warning"] = ("The comparator orders the anchors against their MOS, so the score is not "
                                      "meaningful; check the comparator or the anchor set.")
            results.append(ScoreResult(float(solved["scores"][k]), details))
        if progress is not None:
            progress(min(start + batch_size, len(images)), len(images))
    return results
