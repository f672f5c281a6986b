"""Anchor matrix, Eq. 5, MAP (Eq. 6) against scipy and the public code's matrix, non-saturating scores."""

import numpy as np
import pytest
from scipy import optimize, special

from backend.errors import InputError
from backend.iqa.compare2score import scoring
from backend.iqa.compare2score.anchors import anchor_set_from_arrays
from tests.compare2score.helpers import MeanComparator, flat

# The public code's hard-coded KonIQ anchor matrix (row beats column), used as a realistic P_a.
PUBLIC_ANCHOR_MATRIX = np.array([
    [5.0000000e-01, 2.5912809e-01, 3.3130276e-04, 1.6087297e-06, 1.1803027e-09],
    [7.4087191e-01, 5.0000000e-01, 2.4985345e-01, 9.9954158e-02, 1.8675303e-08],
    [9.9966872e-01, 7.5014657e-01, 5.0000000e-01, 4.9968880e-01, 2.4852838e-01],
    [9.9999839e-01, 9.0004587e-01, 5.0031120e-01, 5.0000000e-01, 2.5400183e-01],
    [1.0000000e+00, 1.0000000e+00, 7.5147164e-01, 7.4599814e-01, 5.0000000e-01]])
KONIQ_ANCHOR_MOS = np.array([1.09, 2.02, 2.96, 3.21, 4.01])  # paper Fig. 5


def scipy_map(wins):
    """Eq. 6 (Phi link, prior q^2/2) by a generic optimiser, sum-to-zero by projection."""
    n = wins.shape[0]
    off = ~np.eye(n, dtype=bool)

    def negative(q):
        d = q[:, None] - q[None, :]
        return -(np.sum(wins[off] * special.log_ndtr(d[off])) - 0.5 * np.sum(q * q))

    result = optimize.minimize(negative, np.zeros(n), method="BFGS", options={"gtol": 1e-10})
    return result.x - result.x.mean()


@pytest.fixture
def anchors():
    values = [40, 80, 120, 160, 200]
    return anchor_set_from_arrays([flat(v) for v in values], mos=[1.0, 2.0, 3.0, 4.0, 5.0], mos_std=[0.3] * 5)


def test_full_matrix_structure(anchors):
    comparator = MeanComparator()
    anchor_wins, _ = scoring.anchor_matrix(comparator, anchors)
    b = np.array([[0.9, 0.7, 0.5, 0.2, 0.05], [0.1, 0.1, 0.1, 0.1, 0.1]])
    full = scoring.full_matrix(anchor_wins, b)
    for wins in full:
        np.testing.assert_allclose(np.diag(wins), 0.5)
        np.testing.assert_allclose(wins + wins.T, 1.0)
    np.testing.assert_allclose(full[0, -1, :-1], b[0])  # the test image's row: it beats anchor n with prob b_n
    with pytest.raises(InputError):
        scoring.full_matrix(anchor_wins, np.ones((1, 3)))


def test_anchor_matrix_is_cached_and_ordered(anchors):
    scoring.clear_anchor_cache()
    comparator = MeanComparator()
    first, _ = scoring.anchor_matrix(comparator, anchors)
    calls = comparator.calls
    second, _ = scoring.anchor_matrix(comparator, anchors)
    assert comparator.calls == calls and first is second
    assert np.all(first[np.triu_indices(5, 1)] < 0.5)  # better anchors (higher index) win
    scoring.anchor_matrix(comparator, anchors, matrix="count")
    assert comparator.calls == calls + 1  # another matrix kind is another cache entry


@pytest.mark.parametrize("b", [np.array([0.97, 0.9, 0.6, 0.3, 0.01]), np.array([0.999, 0.999, 0.999, 0.99, 0.9]),
                               np.array([0.2, 0.1, 0.05, 0.01, 0.0])])
def test_map_matches_scipy_on_the_public_anchor_matrix(b):
    solved = scoring.score_from_b(PUBLIC_ANCHOR_MATRIX, b[None], KONIQ_ANCHOR_MOS)
    reference = scipy_map(scoring.full_matrix(PUBLIC_ANCHOR_MATRIX, b)[0])
    np.testing.assert_allclose(solved["q"][0], reference, atol=1e-5)
    assert bool(solved["converged"][0]) and abs(solved["q"][0].sum()) < 1e-9


def test_map_reference_values_hand_checked():
    # three items, i beats j with prob 0.8 for i > j: the MAP scale is symmetric around the middle item
    wins = np.array([[0.5, 0.2, 0.2], [0.8, 0.5, 0.2], [0.8, 0.8, 0.5]])
    from backend.scaling.pairwise import gradient

    q, _, _ = scoring.solve_map(wins[None])
    assert q[0, 1] == pytest.approx(0.0, abs=1e-10) and q[0, 2] == pytest.approx(-q[0, 0])
    np.testing.assert_allclose(gradient(wins, q[0], "thurstone", 1.0), 0.0, atol=1e-9)
    np.testing.assert_allclose(q[0], scipy_map(wins), atol=1e-6)


def test_scores_rank_and_do_not_saturate(anchors):
    comparator = MeanComparator()
    images = [flat(v) for v in (20, 60, 100, 140, 180, 230, 250)]
    results = scoring.score_images(comparator, anchors, images)
    scores = np.array([r.score for r in results])
    assert np.all(np.diff(scores) > 0)
    # both images above every anchor: distinct scores above the best anchor's MOS, below/above likewise
    assert scores[-1] > scores[-2] > 5.0 and scores[0] < 1.5
    minmax = np.array([r.details["score_minmax"] for r in results])
    assert minmax[-1] == minmax[-2] == pytest.approx(100.0)  # the public code's normalisation saturates
    public = scoring.score_images(comparator, anchors, images, normalisation="minmax")
    assert [r.score for r in public] == pytest.approx(minmax.tolist())


def test_details_and_count_baseline(anchors):
    comparator = MeanComparator()
    image = flat(130)
    soft = scoring.score_images(comparator, anchors, [image])[0]
    hard = scoring.score_images(comparator, anchors, [image], matrix="count")[0]
    details = soft.details
    assert np.array(details["level_probabilities"]).shape == (5, 5)
    assert np.array(details["P"]).shape == (6, 6) and len(details["q"]) == 6
    assert set(hard.details["b"]) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert soft.details["b"] != hard.details["b"]
    both = scoring.score_images(comparator, anchors, [image], both_orders=True)[0]
    assert both.score == pytest.approx(soft.score, abs=1e-9)  # the test comparator is order-consistent


def test_bad_options(anchors):
    with pytest.raises(InputError, match="matrix kind"):
        scoring.score_images(MeanComparator(), anchors, [flat(10)], matrix="votes")
    with pytest.raises(InputError, match="normalisation"):
        scoring.score_images(MeanComparator(), anchors, [flat(10)], normalisation="z")
    with pytest.raises(InputError, match="No image"):
        scoring.score_images(MeanComparator(), anchors, [])
