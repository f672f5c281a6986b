"""Evaluate a trained PromptIQA weights folder and record the measured results in its card (paper 004 Tables 3-5).

``evaluate_folder`` runs ``evaluate.evaluate_features`` for the held-out and the training requirements named
in the card, and adds to the headline the photo-bootstrap interval of the held-out SRCC
(``evaluate.interval_bootstrap``); ``evaluate_and_record`` writes the headline and the full table into
the card beside the weights (``model.json``, :func:`backend.weights.write_card`).
"""

from __future__ import annotations

from backend import weights
from backend.iqa.promptiqa.data import load_dataset
from backend.iqa.promptiqa.evaluate import (
    PROMPT_SIZES,
    encode_rows,
    evaluate_features,
    headline,
    interval_bootstrap,
    summarise,
)
from backend.iqa.promptiqa.requirements import DEFAULT_HELD_OUT, DEFAULT_TRAIN
from backend.iqa.promptiqa.scorer import PromptIQAScorer
from backend.iqa.promptiqa.weights import load_embedded, weights_file


def evaluate_folder(weights_dir=None, data_dir="data/promptiqa", rounds: int = 5, targets: str = "test"):
    network, card = load_embedded(weights_dir)
    data = card.get("data", {})
    held_out = tuple(data.get("held_out_requirements", DEFAULT_HELD_OUT))
    trained = tuple(data.get("train_requirements", DEFAULT_TRAIN))
    size = network.input_size
    scorer = PromptIQAScorer(network, size)
    images, table = load_dataset(data_dir, size=size)
    features = encode_rows(scorer, images, table, targets, max(PROMPT_SIZES))
    results = evaluate_features(scorer, features, table, held_out + trained, held_out=held_out, random_rounds=rounds,
                                targets=targets)
    summary = summarise(results)
    head = headline(summary)
    head["held_out_srcc_interval_photo_bootstrap"] = interval_bootstrap(scorer, features, table, held_out,
                                                                        n=head["n"], targets=targets)
    return summary, head


def evaluate_and_record(weights_dir, data_dir="data/promptiqa", rounds: int = 5) -> dict:
    """Validation-photo headline (for choosing settings) and the full test-photo evaluation, into the card."""

    _, validation = evaluate_folder(weights_dir, data_dir, rounds, targets="validation")
    summary, head = evaluate_folder(weights_dir, data_dir, rounds)
    path = weights_file(weights_dir)
    card = weights.read_card(path)
    card["results"] = {"headline": head, "validation_headline": validation,
                       "protocol": "backend.iqa.promptiqa.evaluate: test photos (view 0) as targets, prompts "
                       "from training photos (view 0); validation_headline: the same on the validation photos",
                       "table": summary.round(4).to_dict("records")}
    weights.write_card(path, card)
    return card
