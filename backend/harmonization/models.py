"""Registry entries for the harmonizers (task ``harmonize``): baselines, semantic routing, the network.

``srh-tiny`` is the network trained here on CPU and shipped in ``assets/harmonization/`` (its JSON card
says the data, command and measured metrics); ``srh-full`` is the paper-size configuration, whose weights
come from GPU training (``python -m backend harmonization train --config full``) and are read from
``HARMONYLAB_SRH_FULL_WEIGHTS``.
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.registry import ASSETS_DIR, ModelCard, Status, register

SHIPPED_WEIGHTS = "harmonization/srh-tiny.safetensors"
FULL_WEIGHTS_ENV = "HARMONYLAB_SRH_FULL_WEIGHTS"
DEFAULT_METHODS = ("srh-tiny", "semantic-routing")


def _card(name: str, summary: str, **extra) -> ModelCard:
    return ModelCard(name=name, task="harmonize", summary=summary, paper="002", needs_mask=True, **extra)


def _statistical(class_name: str):
    def factory(_name: str, **options):
        from backend.harmonization import statistical

        return getattr(statistical, class_name)(_CARDS[_name], **options)

    return factory


def _network(_name: str, weights: str | None = None, **options):
    from backend.harmonization.neural import NetworkHarmonizer

    if weights is None:
        weights = os.environ.get(FULL_WEIGHTS_ENV) if _name == "srh-full" else str(ASSETS_DIR / SHIPPED_WEIGHTS)
    return NetworkHarmonizer(_CARDS[_name], weights=weights, **options)


def _full_status(_card: ModelCard) -> Status:
    path = os.environ.get(FULL_WEIGHTS_ENV)
    if path and Path(path).exists():
        return Status("ready", f"weights {path}")
    return Status("unavailable", f"no trained full-size weights; train with `python -m backend harmonization train "
                                 f"--config full` on a GPU and set {FULL_WEIGHTS_ENV}")


_CARDS = {
    "composite": _card("composite", "Baseline: the composite unchanged."),
    "reinhard": _card("reinhard", "Baseline: foreground CIELAB mean/std matched to the whole background."),
    "histogram": _card("histogram", "Baseline: foreground YCbCr histograms matched to the background's."),
    "semantic-routing": _card("semantic-routing", "Training-free: foreground colours moved toward the background "
                              "instances that look most like it (ISEM idea, no network)."),
    "srh-tiny": _card("srh-tiny", "Paper 002 network (STB encoder, similarity-routed ISTB decoder), small, "
                      "trained here on CPU.", shipped_weights=(SHIPPED_WEIGHTS,)),
    "srh-full": _card("srh-full", "Paper 002 network at full size (dim 48, 4/6/6 blocks); needs GPU-trained weights."),
}
_FACTORIES = {
    "composite": _statistical("Unchanged"),
    "reinhard": _statistical("GlobalReinhard"),
    "histogram": _statistical("HistogramMatch"),
    "semantic-routing": _statistical("SemanticRouting"),
    "srh-tiny": _network,
    "srh-full": _network,
}

for _name, _model_card in _CARDS.items():
    register(_model_card, lambda _n=_name, **options: _FACTORIES[_n](_n, **options),
             _full_status if _name == "srh-full" else None)
