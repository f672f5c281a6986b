"""``benchmarks/harmonize.py`` prints paper 002 Table 2's fMSE ratios beside ours; the 0.40 target is DoveNet's."""

from __future__ import annotations

import pytest

from benchmarks.harmonize import PAPER_TABLE2_FMSE, paper_fmse_ratios


def test_ratios_are_fmse_over_the_composites_fmse():
    ratios = paper_fmse_ratios()
    assert "composite" not in ratios and set(ratios) == set(PAPER_TABLE2_FMSE) - {"composite"}
    assert ratios["DoveNet"] == pytest.approx(549.96 / 1387.30, abs=1e-3) and round(ratios["DoveNet"], 2) == 0.40
    assert min(ratios, key=ratios.get) == "paper 002"  # the paper's own network is the best of its table
