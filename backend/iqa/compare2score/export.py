"""Comparative instruction-response pairs (paper 001 Sec. 3.2, Eq. 2) for the authors' training code.

Format emitted (the LLaVA / mPLUG-Owl2 conversation JSON that the authors' Q-Align-based trainer reads
with ``--data_path FILE --image_folder ROOT``; images are paths relative to ``image_folder`` or absolute):

    [
      {
        "id": "c2s_000001",
        "image": ["relative/first.png", "relative/second.png"],
        "conversations": [
          {"from": "human", "value": "Compared with the first image <|image|>, how is the quality of the second image <|image|>?"},
          {"from": "gpt", "value": "The quality of the second image is worse than the first image."}
        ],
        "level": "worse",
        "mos": [3.4, 2.6], "mos_std": [0.31, 0.42]
      },
      ...
    ]

``<|image|>`` is mPLUG-Owl2's image placeholder (one per image, in order); the extra keys (``level``,
``mos``, ``mos_std``) are ignored by the trainer and kept for auditing. Pairs are sampled uniformly
without self-pairs from one scored set (the paper samples within each dataset, never across), labelled
with Eq. 2 (see ``levels`` for the sign convention), deterministic for a given seed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

from backend.data.scored_set import read_scored_set
from backend.errors import InputError
from backend.iqa.compare2score.levels import LEVELS, QUESTION, answer, level_index

IMAGE_TOKEN = "<|image|>"
HUMAN_PROMPT = QUESTION.replace("the first image,", f"the first image {IMAGE_TOKEN},").replace("second image?", f"second image {IMAGE_TOKEN}?")


def conversation(first: str, second: str, level: str, identifier: str) -> dict:
    return {"id": identifier, "image": [first, second],
            "conversations": [{"from": "human", "value": HUMAN_PROMPT}, {"from": "gpt", "value": answer(level)}]}


def export_training_pairs(scored_csv: str | Path, out: str | Path, pairs: int = 1000, seed: int = 0,
                          split: str | None = None, image_root: str | Path | None = None) -> dict:
    """Write ``pairs`` instruction-response pairs to ``out``; returns a summary with the level counts."""

    table = read_scored_set(scored_csv)
    if split:
        if "split" not in table.columns:
            raise InputError(f"The scored set has no 'split' column, so --split {split} cannot be applied.")
        table = table[table["split"] == split].reset_index(drop=True)
    if len(table) < 2:
        raise InputError("Exporting pairs needs a scored set with at least two images.")
    if pairs < 1:
        raise InputError("Give a positive number of pairs to export.")
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(table), pairs)
    second = (first + rng.integers(1, len(table), pairs)) % len(table)  # never the same image twice
    mos, std = table["mos"].to_numpy(float), table["mos_std"].to_numpy(float)
    levels = level_index(mos[first], mos[second], std[first], std[second])
    root = Path(image_root).resolve() if image_root else None

    def shown(path: str) -> str:
        return os.path.relpath(Path(path).resolve(), root) if root else str(path)

    records = []
    for k, (i, j, level) in enumerate(zip(first, second, levels), start=1):
        record = conversation(shown(table["path"][i]), shown(table["path"][j]), LEVELS[level], f"c2s_{k:06d}")
        record.update({"level": LEVELS[level], "mos": [float(mos[i]), float(mos[j])],
                       "mos_std": [float(std[i]), float(std[j])]})
        records.append(record)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=1))
    counts = Counter(LEVELS[level] for level in levels)
    return {"out": str(out), "pairs": pairs, "levels": {name: counts.get(name, 0) for name in LEVELS},
            "image_folder": str(root) if root else None}
