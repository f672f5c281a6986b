"""Device choice for torch models: ``HARMONYLAB_DEVICE`` if set, else CUDA when present, else CPU."""

from __future__ import annotations

import os


def default_device() -> str:
    requested = os.environ.get("HARMONYLAB_DEVICE", "").strip()
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
