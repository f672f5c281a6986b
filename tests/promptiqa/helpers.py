"""Small builders shared by the PromptIQA tests: a random compact scorer and prompt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import noisy, sample_photo


def random_scorer(seed: int = 0):
    import torch

    from backend.iqa.promptiqa.model import COMPACT, PromptIQAConfig, PromptIQANet
    from backend.iqa.promptiqa.scorer import PromptIQAScorer

    torch.manual_seed(seed)
    return PromptIQAScorer(PromptIQANet(PromptIQAConfig(visual=COMPACT)).eval(), COMPACT.input_size)


def noisy_series(count: int = 4, size: int = 96) -> list[np.ndarray]:
    base = sample_photo("astronaut")[::4, ::4][:size, :size].copy()
    return [noisy(base, 4.0 + 12.0 * k, seed=k) for k in range(count)]


def write_prompt(folder: Path, scores, images=None) -> Path:
    """A prompt CSV (path,score) with PNGs beside it; returns the CSV path."""
    folder.mkdir(parents=True, exist_ok=True)
    images = images if images is not None else noisy_series(len(scores))
    rows = ["path,score"]
    for k, (image, score) in enumerate(zip(images, scores, strict=False)):
        Image.fromarray(image).save(folder / f"p{k}.png")
        rows.append(f"p{k}.png,{score}")
    path = folder / "prompt.csv"
    path.write_text("\n".join(rows) + "\n")
    return path
