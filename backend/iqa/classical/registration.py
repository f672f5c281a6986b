"""Registry cards of the classical metrics (pyiqa's names, directions and score ranges).

Each card carries pyiqa's ``lower_better`` and score range (pyiqa's ``~`` marks an approximate bound; the
card keeps pyiqa's text in ``range_text``). NIQE and BRISQUE need fitted parameter files from pyiqa's
weight repository (``HubWeights`` with the settings variable of a local copy).

Implementation (the card's ``implementation``): every metric with a version in ``fast`` (all but NIQE and
BRISQUE) runs our vectorised code, equal to pyiqa within 1e-4 and several times faster on a CPU
(``benchmarks/score_speed.py``); the setting ``HARMONYLAB_CLASSICAL_IMPLEMENTATION=pyiqa`` makes them all
run through pyiqa, as does the factory option ``implementation="pyiqa"`` for one instance.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from backend import settings
from backend.iqa.classical.fast import FAST_METRICS
from backend.registry import ModelCard, register
from backend.weights import HubWeights, Status, hub_file, hub_status

LISTING_ORDER = 10  # the everyday metrics come first in lists
PYIQA_WEIGHTS_REPO = "chaofengc/IQA-PyTorch-Weights"
# The repository is versioned by file name; no commit could be verified offline, so the branch is named.
PYIQA_WEIGHTS_REVISION = "main"

# name, task, lower_better, pyiqa range text, summary
METRICS: tuple[tuple[str, str, bool, str, str], ...] = (
    ("psnr", "iqa-fr", False, "~0, ~40", "Peak signal-to-noise ratio on RGB (dB)."),
    ("ssim", "iqa-fr", False, "0, 1", "Structural similarity on the Y channel (Wang et al. 2004)."),
    ("ms_ssim", "iqa-fr", False, "0, 1", "Multi-scale SSIM on the Y channel (Wang et al. 2003)."),
    ("fsim", "iqa-fr", False, "0, 1", "Feature similarity with chroma, FSIMc (Zhang et al. 2011)."),
    ("vsi", "iqa-fr", False, "0, ~1", "Visual saliency-induced index (Zhang et al. 2014)."),
    ("gmsd", "iqa-fr", True, "0, ~1", "Gradient magnitude similarity deviation (Xue et al. 2014)."),
    ("vif", "iqa-fr", False, "0, ~1", "Visual information fidelity (Sheikh & Bovik 2006)."),
    ("nlpd", "iqa-fr", True, "0, 1", "Normalized Laplacian pyramid distance (Laparra et al. 2016)."),
    ("cw_ssim", "iqa-fr", False, "0, 1", "Complex wavelet SSIM (Sampat et al. 2009)."),
    ("piqe", "iqa-nr", True, "0, 100", "Perception-based image quality evaluator (Venkatanath et al. 2015)."),
    ("entropy", "iqa-nr", False, "0, 8", "Shannon entropy of the gray-level histogram (bits)."),
    ("niqe", "iqa-nr", True, "~0, ~100", "Natural image quality evaluator (Mittal et al. 2013)."),
    ("brisque", "iqa-nr", True, "~0, ~150", "Blind/referenceless spatial quality evaluator (Mittal et al. 2012)."),
)

# Metrics whose fitted parameters pyiqa downloads: file in the weights repo, settings variable of a local copy.
PARAMETER_FILES = {
    "niqe": HubWeights(PYIQA_WEIGHTS_REPO, PYIQA_WEIGHTS_REVISION, "about 10 KB", ("niqe_modelparameters.mat",),
                       "HARMONYLAB_NIQE_PARAMS"),
    "brisque": HubWeights(PYIQA_WEIGHTS_REPO, PYIQA_WEIGHTS_REVISION, "about 250 KB", ("brisque_svm_weights.pth",),
                          "HARMONYLAB_BRISQUE_PARAMS"),
}


def parse_range(text: str) -> tuple[float, float]:
    low, high = (part.strip().lstrip("~") for part in text.split(","))
    return float(low), float(high)


def pyiqa_cache_file(filename: str):
    """pyiqa's own download folder (it fetches the same files there): ``torch.hub.get_dir()``, worked out from
    the same environment variables without importing torch (the Score tab's model list asks while the page is
    built, and importing torch costs seconds of the first page)."""
    import sys
    from pathlib import Path

    if "torch" in sys.modules:  # already paid for: ask torch itself (also honours torch.hub.set_dir)
        from torch.hub import get_dir

        hub = Path(get_dir())
    else:
        from backend.settings import torch_hub_dir

        hub = torch_hub_dir()
    path = hub / "pyiqa" / filename
    return path if path.is_file() else None


def parameter_status(card: ModelCard) -> Status:
    weights = card.hub_weights
    status = hub_status(weights)
    if status.state == "needs download":
        if pyiqa_cache_file(weights.files[0]) is not None:
            return Status("ready", "pyiqa cache")
        return Status("needs download", f"{weights.describe()}: {weights.files[0]}; or set {weights.local_env} "
                                        "to a local copy")
    return status


def build_metric(card: ModelCard, device: str | None = None, implementation: str | None = None):
    if (implementation or card.implementation) == "fast" and card.name in FAST_METRICS:
        from backend.iqa.classical.fast_metric import FastMetric

        return FastMetric(replace(card, implementation="fast"))
    from backend.iqa.classical.pyiqa_metric import PyiqaMetric

    card = replace(card, implementation="pyiqa")
    parameter_file = None
    if card.hub_weights is not None:
        filename = card.hub_weights.files[0]
        cached = pyiqa_cache_file(filename) if card.hub_weights.local_copy() is None else None
        parameter_file = str(cached or hub_file(card.hub_weights, filename, what=f"'{card.name}' parameter file {filename}"))
    return PyiqaMetric(card, device=device, parameter_file=parameter_file)


def implementation_of(name: str) -> str:
    """``fast`` for a metric with a fast version (unless the settings force pyiqa), else ``pyiqa``."""
    return "fast" if name in FAST_METRICS and settings.current().classical_implementation == "fast" else "pyiqa"


for _name, _task, _lower_better, _range_text, _summary in METRICS:
    _card = ModelCard(name=_name, task=_task, summary=_summary, lower_better=_lower_better,
                      score_range=parse_range(_range_text), range_text=_range_text,
                      implementation=implementation_of(_name), hub_weights=PARAMETER_FILES.get(_name))
    register(_card, status=parameter_status if _name in PARAMETER_FILES else None)(partial(build_metric, _card))
