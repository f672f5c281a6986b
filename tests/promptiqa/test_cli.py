"""``python -m backend promptiqa score --prompt PROMPT.csv IMAGE...``: CSV image,score; errors exit 2."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pandas as pd
from PIL import Image

from tests.promptiqa.helpers import noisy_series, write_prompt

REPO = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, "-m", "backend", "promptiqa", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=240, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})


def test_score_prints_image_score_in_the_prompt_scale(tmp_path):
    csv = write_prompt(tmp_path / "prompt", [100, 80, 60, 40, 20])
    target = tmp_path / "target.png"
    Image.fromarray(noisy_series(2)[1]).save(target)
    result = run("score", "--prompt", str(csv), str(target))
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(StringIO(result.stdout))
    assert list(table.columns) == ["image", "score"] and len(table) == 1
    assert 20 <= table["score"][0] <= 100


def test_a_bad_prompt_is_one_sentence_with_exit_code_2(tmp_path):
    csv = write_prompt(tmp_path / "prompt", [3, 3])
    target = tmp_path / "target.png"
    Image.fromarray(noisy_series(1)[0]).save(target)
    result = run("score", "--prompt", str(csv), str(target))
    assert result.returncode == 2 and "equal" in result.stderr and "Traceback" not in result.stderr
