"""Evaluate a trained PromptIQA weights folder and record the measured results in its card (paper 004 Tables 3-5).

``evaluate_folder`` runs ``evaluate.evaluate`` for the held-out and the training requirements named in
the card; ``evaluate_and_record`` writes the headline and the full table into ``card.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

from backend.iqa.promptiqa.requirements import DEFAULT_HELD_OUT, DEFAULT_TRAIN


def evaluate_folder(weights_dir=None, data_dir="data/promptiqa", rounds: int = 5):
    from backend.iqa.promptiqa.data import load_dataset
    from backend.iqa.promptiqa.evaluate import evaluate, headline, summarise
    from backend.iqa.promptiqa.scorer import PromptIQAScorer
    from backend.iqa.promptiqa.weights import load_compact

    network, card = load_compact(weights_dir)
    data = card.get("data", {})
    held_out = tuple(data.get("held_out_requirements", DEFAULT_HELD_OUT))
    trained = tuple(data.get("train_requirements", DEFAULT_TRAIN))
    scorer = PromptIQAScorer(network, card.get("config", {}).get("visual", {}).get("input_size", 128))
    images, table = load_dataset(data_dir)
    results = evaluate(scorer, images, table, held_out + trained, held_out=held_out, random_rounds=rounds)
    summary = summarise(results)
    return summary, headline(summary)


def evaluate_and_record(weights_dir, data_dir="data/promptiqa", rounds: int = 5) -> dict:
    from backend.iqa.promptiqa.weights import CARD_FILE

    summary, head = evaluate_folder(weights_dir, data_dir, rounds)
    path = Path(weights_dir) / CARD_FILE
    card = json.loads(path.read_text())
    card["results"] = {"headline": head, "protocol": "backend.iqa.promptiqa.evaluate: test photos as targets, "
                       "prompts from training photos", "table": summary.round(4).to_dict("records")}
    path.write_text(json.dumps(card, indent=1))
    return card
