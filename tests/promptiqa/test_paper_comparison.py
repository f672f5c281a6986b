"""``benchmarks/promptiqa.py`` sets this model's PLCC beside paper 004 Table 3 (PromptIQA-MDT, unseen requirements)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.promptiqa import PAPER_TABLE3_PLCC, paper_comparison


def test_only_held_out_interval_rows_at_n_are_compared():
    summary = pd.DataFrame([
        {"requirement": "fsim", "held_out": True, "n": 10, "prompt": "interval", "plcc": 0.9},
        {"requirement": "ms_ssim", "held_out": True, "n": 10, "prompt": "interval", "plcc": 0.6},
        {"requirement": "ms_ssim", "held_out": True, "n": 10, "prompt": "inverted", "plcc": -0.6},
        {"requirement": "ms_ssim", "held_out": True, "n": 5, "prompt": "interval", "plcc": 0.1},
        {"requirement": "ssim", "held_out": False, "n": 10, "prompt": "interval", "plcc": 0.99},
    ])
    result = paper_comparison(summary)
    assert result["ours"] == {"fsim": 0.9, "ms_ssim": 0.6}
    assert result["ours_mean"] == pytest.approx(0.75)
    assert result["paper_mean"] == pytest.approx(sum(PAPER_TABLE3_PLCC.values()) / 6, abs=1e-4)
    assert min(PAPER_TABLE3_PLCC.values()) == 0.5717 and max(PAPER_TABLE3_PLCC.values()) == 0.8802
