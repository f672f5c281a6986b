"""Eq. 2 thresholds and sign convention, Eq. 3 soft comparison, the count-matrix vote."""

import numpy as np
import pytest

from backend.iqa.compare2score import levels as lv


def test_eq2_thresholds_and_sign_convention():
    # first image i, second j; s_ij = hypot(0.3, 0.4) = 0.5
    first_mos = 3.0
    cases = {
        3.0 - 1.01: "inferior",   # q_ij = 1.01 > 2s: the first is much better, the second is inferior
        3.0 - 1.00: "worse",      # q_ij = 2s exactly: worse (s < q <= 2s)
        3.0 - 0.51: "worse",
        3.0 - 0.50: "similar",    # q_ij = s: similar (-s < q <= s)
        3.0: "similar",
        3.0 + 0.49: "similar",
        3.0 + 0.50: "better",     # q_ij = -s: better (-2s < q <= -s), as printed
        3.0 + 0.99: "better",
        3.0 + 1.00: "superior",   # q_ij = -2s: superior (boundary given to superior, see docstring)
        3.0 + 2.00: "superior",
    }
    seconds = np.array(list(cases))
    got = lv.level_names(lv.level_index(first_mos, seconds, 0.3, 0.4))
    assert got == list(cases.values())


def test_eq2_is_antisymmetric_off_the_boundaries():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 5, 500), rng.uniform(1, 5, 500)
    sa, sb = rng.uniform(0.1, 0.8, 500), rng.uniform(0.1, 0.8, 500)
    forward, backward = lv.level_index(a, b, sa, sb), lv.level_index(b, a, sb, sa)
    assert np.all(forward == 4 - backward)


def test_soft_comparison_arithmetic():
    p = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    assert lv.soft_preference(p) == pytest.approx(0.2 * 0.25 + 0.3 * 0.5 + 0.25 * 0.75 + 0.15 * 1.0)
    assert lv.soft_preference(np.eye(5)).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    # reversing the pair mirrors the levels: P(b, a) = 1 - P(a, b)
    assert lv.soft_preference(lv.flip_levels(p)) == pytest.approx(1 - lv.soft_preference(p))
    # the count baseline is the hard vote of the argmax
    assert lv.hard_preference(p) == 0.5 and lv.hard_preference(np.array([[0, 0, 0, .4, .6]]))[0] == 1.0


def test_softmax_and_temperature():
    logits = np.array([[2.0, 1.0, 0.0, -1.0, 5.0]])
    p = lv.softmax(logits)
    np.testing.assert_allclose(p, np.exp(logits) / np.exp(logits).sum())
    flat = lv.softmax(logits, temperature=100)
    assert np.ptp(flat) < 0.1 and flat.sum() == pytest.approx(1)


def test_prompt_sentences():
    assert lv.answer("similar") == "The quality of the second image is similar to the first image."
    assert lv.answer("worse") == "The quality of the second image is worse than the first image."
    assert lv.QUESTION == "Compared with the first image, how is the quality of the second image?"
