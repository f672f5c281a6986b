"""Registry cards of paper 002's part: the harmonizers (task ``harmonize``) and the iHarmony4 metrics.

Harmonizers: the baselines (``composite``, ``reinhard``, ``histogram``), the training-free
``semantic-routing`` and ``outline-inverse`` (:mod:`backend.harmonization.outline`), and the network:
``srh-tiny`` trained here on CPU and shipped in ``assets/harmonization/`` (its JSON card says the data,
command and measured metrics), ``srh-full`` the paper-size configuration, whose weights come from GPU
training (``python -m backend harmonization train --config full``) and are named by the setting
``HARMONYLAB_SRH_FULL_WEIGHTS``.

Metrics (task ``iqa-fr``, :mod:`backend.harmonization.metrics`): ``ih-mse``, ``ih-fmse``, ``ih-psnr`` and
``ih-fpsnr`` of the iHarmony4 protocol; fMSE and fPSNR need the foreground mask.
"""

from __future__ import annotations

from functools import partial

from backend import settings
from backend.harmonization.metrics import EVAL_SIZE, MAX_PSNR_DB
from backend.registry import ModelCard, register
from backend.weights import ASSETS_DIR, Status

SHIPPED_WEIGHTS = "harmonization/srh-tiny.safetensors"
FULL_WEIGHTS_ENV = "HARMONYLAB_SRH_FULL_WEIGHTS"
DEFAULT_METHODS = ("outline-inverse", "srh-tiny", "semantic-routing")


def harmonizer_card(name: str, summary: str, **fields) -> ModelCard:
    return ModelCard(name=name, task="harmonize", summary=summary, paper="002", needs_mask=True, **fields)


HARMONIZERS = {card.name: card for card in (
    harmonizer_card("composite", "Baseline: the composite unchanged."),
    harmonizer_card("reinhard", "Baseline: foreground CIELAB mean/std matched to the whole background."),
    harmonizer_card("histogram", "Baseline: foreground YCbCr histograms matched to the background's."),
    harmonizer_card("semantic-routing", "Training-free: foreground colours moved toward the background instances "
                    "that look most like it (ISEM idea, no network)."),
    harmonizer_card("outline-inverse", "Training-free: the inverse affine RGB map of the recolouring, solved from the "
                    "original colours the mask's blurred outline leaks (issue #23). fMSE 0.55x the composite's on held-out "
                    "photo sources (semantic routing 0.95x); keeps a hard-edged cut-out unchanged."),
    harmonizer_card("srh-tiny", "Paper 002 network (STB encoder, similarity-routed ISTB decoder), small, trained "
                    "here on CPU.", shipped_weights=(SHIPPED_WEIGHTS,)),
    harmonizer_card("srh-full", "Paper 002 network at full size (dim 48, 4/6/6 blocks); needs GPU-trained weights."),
)}


@register(HARMONIZERS["composite"])
def build_composite():
    from backend.harmonization.statistical import Unchanged

    return Unchanged(HARMONIZERS["composite"])


@register(HARMONIZERS["reinhard"])
def build_reinhard(strength: float = 1.0):
    from backend.harmonization.statistical import GlobalReinhard

    return GlobalReinhard(HARMONIZERS["reinhard"], strength)


@register(HARMONIZERS["histogram"])
def build_histogram():
    from backend.harmonization.statistical import HistogramMatch

    return HistogramMatch(HARMONIZERS["histogram"])


@register(HARMONIZERS["semantic-routing"])
def build_semantic_routing(segmenter: str | None = None, sharpness: float = 4.0,
                           strength: tuple[float, float, float] = (0.0, 0.3, 0.3), spread_strength: float = 0.35):
    from backend.harmonization.statistical import SemanticRouting

    return SemanticRouting(HARMONIZERS["semantic-routing"], segmenter, sharpness, strength, spread_strength)


@register(HARMONIZERS["outline-inverse"])
def build_outline_inverse(strength: float | None = None, inner: float | None = None):
    from backend.harmonization.outline import DEFAULTS, OutlineInverse

    return OutlineInverse(HARMONIZERS["outline-inverse"], DEFAULTS["strength"] if strength is None else strength,
                          DEFAULTS["inner"] if inner is None else inner)


def build_network(name: str, weights: str | None = None, segmenter: str | None = None, work_size: int | None = None):
    from backend.harmonization.neural import NetworkHarmonizer

    if weights is None:
        weights = str(settings.current().srh_full_weights if name == "srh-full" else ASSETS_DIR / SHIPPED_WEIGHTS)
    return NetworkHarmonizer(HARMONIZERS[name], weights=weights, segmenter=segmenter, work_size=work_size)


def full_weights_status(_card: ModelCard) -> Status:
    path = settings.current().srh_full_weights
    if path is not None and path.exists():
        return Status("ready", f"weights {path}")
    return Status("unavailable", f"no trained full-size weights; train with `python -m backend harmonization train "
                                 f"--config full` on a GPU and set {FULL_WEIGHTS_ENV}")


register(HARMONIZERS["srh-tiny"])(partial(build_network, "srh-tiny"))
register(HARMONIZERS["srh-full"], status=full_weights_status)(partial(build_network, "srh-full"))


# ----------------------------------------------------------------------------------- iHarmony4 metrics

# name, field of HarmonizationErrors, lower_better, needs_mask, range, summary
METRICS = (
    ("ih-mse", "mse", True, False, (0.0, 65025.0), "MSE over the whole image, iHarmony4 protocol (256x256)."),
    ("ih-fmse", "fmse", True, True, (0.0, 65025.0), "MSE inside the foreground mask, iHarmony4 protocol."),
    ("ih-psnr", "psnr", False, False, (0.0, MAX_PSNR_DB), "PSNR over the whole image, iHarmony4 protocol (dB)."),
    ("ih-fpsnr", "fpsnr", False, True, (0.0, MAX_PSNR_DB), "PSNR inside the foreground mask, iHarmony4 protocol (dB)."),
)


def build_metric(card: ModelCard, field_name: str, size: int | None = EVAL_SIZE):
    from backend.harmonization.metrics import HarmonizationMetric

    return HarmonizationMetric(card, field_name, size)


for _name, _field, _lower_better, _needs_mask, _range, _summary in METRICS:
    _card = ModelCard(name=_name, task="iqa-fr", summary=_summary, lower_better=_lower_better, score_range=_range,
                      paper="002", needs_mask=_needs_mask)
    register(_card)(partial(build_metric, _card, _field))
