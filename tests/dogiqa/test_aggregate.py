"""Dog-IQA aggregation arithmetic: the paper's formula and the public code's."""

import pytest

from backend.errors import InputError
from backend.iqa.dogiqa.aggregate import aggregate, local_score


def test_paper_formula():
    # global 5; regions 6 (area 300), 3 (area 100) -> local (1800 + 300) / 400 = 5.25
    parts = aggregate(5, [6, 3], [300, 100], k=7, c_max=14, formula="paper")
    assert parts.local_score == pytest.approx(5.25)
    assert parts.seg_score == pytest.approx(2 * 7 / 14)
    assert parts.final == pytest.approx((5 + 5.25) / 2 + 1.0)
    assert parts.count == 2 and parts.global_score == 5


def test_public_code_formula():
    parts = aggregate(5, [6, 3], [300, 100], k=7, c_max=14, formula="public")
    assert parts.seg_score == pytest.approx(0.2)
    assert parts.final == pytest.approx(5.25 + 0.2 + 2.5)


def test_area_weights_not_counts_and_k_enters_s_seg():
    assert local_score([7, 1, 1, 1], [97, 1, 1, 1]) == pytest.approx(6.82)
    assert aggregate(3, [3], [10], k=9, c_max=3).seg_score == pytest.approx(3.0)
    assert aggregate(3, [3], [10], k=3, c_max=3).seg_score == pytest.approx(1.0)


def test_no_region_falls_back_to_the_global_score():
    parts = aggregate(4, [], [], k=7, c_max=10)
    assert parts.local_score == 4 and parts.seg_score == 0 and parts.final == 4


def test_bad_options():
    with pytest.raises(InputError, match="K = 6"):
        aggregate(4, [4], [1], k=6)
    with pytest.raises(InputError, match="aggregation"):
        aggregate(4, [4], [1], formula="mean")
    with pytest.raises(InputError, match="c_max"):
        aggregate(4, [4], [1], c_max=0)
    with pytest.raises(InputError, match="one area"):
        local_score([1, 2], [1])
