"""Shipped weights of the embedded PromptIQA: ``assets/promptiqa/features/{model.safetensors, model.json}``.

``model.safetensors`` holds the tensors and, in its metadata, the network's ``PromptIQAConfig`` (here the
``features`` encoder of ``model``: fixed quality statistics + trained MLP); ``model.json`` beside it is the
card (data, training command, measured results). Both are written and read by :mod:`backend.weights`;
:func:`load_embedded` rebuilds the network (paper 004 Sec. 3.2 with that encoder). Any other weights
written by ``train`` (e.g. a ``compact`` CNN) load the same way. This module stays light to import.
"""

from __future__ import annotations

from pathlib import Path

from backend import weights as weights_files
from backend.weights import ASSETS_DIR

DEFAULT_WEIGHTS = ASSETS_DIR / "promptiqa" / "features"
WEIGHTS_FILE = "model.safetensors"
SHIPPED = "promptiqa/features/model.safetensors"
WHAT = "PromptIQA"
TRAIN_COMMAND = "python -m backend promptiqa train"


def weights_file(location: str | Path | None = None) -> Path:
    """The weights file of ``location``: a weights file, or a folder holding ``model.safetensors``."""
    path = Path(location or DEFAULT_WEIGHTS)
    return path if path.suffix == ".safetensors" else path / WEIGHTS_FILE


def read_card(location: str | Path | None = None) -> dict:
    return weights_files.read_card(weights_file(location))


def load_embedded(location: str | Path | None = None):
    """The trained network (eval mode) and its card; ``location`` is a weights file or its folder."""
    from backend.iqa.promptiqa.model import PromptIQANet

    return weights_files.load(weights_file(location), PromptIQANet, what=WHAT, train_hint=TRAIN_COMMAND)
