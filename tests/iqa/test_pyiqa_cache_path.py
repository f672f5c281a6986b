"""The pyiqa download folder is worked out without importing torch, and equals torch.hub.get_dir()'s."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import pathlib, sys
from backend.iqa.classical import registration
asked = []
pathlib.Path.is_file = lambda self: asked.append(str(self)) or False
registration.pyiqa_cache_file("x.pth")
print(asked[0])
print("torch" in sys.modules)
import torch.hub
print(torch.hub.get_dir() + "/pyiqa/x.pth")
"""


@pytest.mark.parametrize("env", [{}, {"TORCH_HOME": "/tmp/th"}, {"XDG_CACHE_HOME": "/tmp/xdg"},
                                 {"TORCH_HOME": "~/th", "XDG_CACHE_HOME": "/tmp/xdg"}])
def test_the_folder_is_torch_hubs_and_torch_stays_unloaded(env):
    clean = {k: v for k, v in os.environ.items() if k not in ("TORCH_HOME", "XDG_CACHE_HOME")}
    result = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env, "PYTHONPATH": str(REPO)}, cwd=REPO,
                            capture_output=True, text=True, check=True)
    ours, torch_loaded, torchs = result.stdout.split()
    assert ours == torchs
    assert torch_loaded == "False"
