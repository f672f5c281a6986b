"""The segmenter to use: the named one, else SAM 2 when its weights are here, else the offline segmenter."""

from __future__ import annotations

from backend import registry
from backend.errors import InputError
from backend.segmentation.registration import OFFLINE, SAM2


def get_segmenter(name: str | None = None):
    """The named segmenter, or SAM 2 when ready and the offline segmenter otherwise."""
    if name is None:
        name = SAM2 if registry.status(SAM2).ready else OFFLINE
    card = registry.card(name)
    if card.task != "segment":
        raise InputError(f"'{name}' is a {card.task} model, not a segmenter; pick one of: {OFFLINE}, {SAM2}.")
    return registry.create(name)
