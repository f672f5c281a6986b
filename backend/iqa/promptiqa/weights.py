"""Shipped weights of the embedded PromptIQA: ``assets/promptiqa/features/{model.safetensors, card.json}``.

The card says which encoder config the weights belong to (the ``features`` encoder of ``model``: fixed
quality statistics + trained MLP), the data, the training command and the measured results;
:func:`load_embedded` rebuilds the network from it (paper 004 Sec. 3.2 with that encoder). Any other
weights folder written by ``train`` (e.g. a ``compact`` CNN) loads the same way from its own card.
"""

from __future__ import annotations

import json
from pathlib import Path

from backend.errors import ModelUnavailableError
from backend.registry import ASSETS_DIR

DEFAULT_WEIGHTS = ASSETS_DIR / "promptiqa" / "features"
WEIGHTS_FILE, CARD_FILE = "model.safetensors", "card.json"
SHIPPED = "promptiqa/features/model.safetensors"


def read_card(folder: str | Path | None = None) -> dict:
    path = Path(folder or DEFAULT_WEIGHTS) / CARD_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def load_embedded(folder: str | Path | None = None):
    """The trained network (eval mode) and its card."""
    from safetensors.torch import load_file

    from backend.iqa.promptiqa.model import COMPACT_DEFAULT, build_network

    folder = Path(folder or DEFAULT_WEIGHTS)
    if not (folder / WEIGHTS_FILE).is_file():
        raise ModelUnavailableError(
            f"The PromptIQA weights are missing from '{folder}'; train them with `python -m backend promptiqa "
            "train` (see assets/promptiqa/README.md).")
    card = read_card(folder)
    visual = card.get("config", {}).get("visual", COMPACT_DEFAULT)
    network = build_network(visual)
    network.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return network.eval(), card
