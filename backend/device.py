"""Device choice for torch models: the setting ``HARMONYLAB_DEVICE`` if set, else CUDA when present, else CPU."""

from __future__ import annotations

from backend import settings


def default_device() -> str:
    requested = settings.current().device
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
