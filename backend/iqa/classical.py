"""Classical IQA metrics through pyiqa (Chen et al., IQA-PyTorch); nothing here re-implements a metric.

Full-reference: PSNR, SSIM, MS-SSIM, FSIM, VSI, GMSD, VIF. No-reference: PIQE, entropy (parameter-free),
NIQE and BRISQUE (their fitted parameter files come from pyiqa's weight repository on the hub, or from a
local file named by ``HARMONYLAB_NIQE_PARAMS`` / ``HARMONYLAB_BRISQUE_PARAMS``).

Each card carries pyiqa's ``lower_better`` and score range (pyiqa's ``~`` marks an approximate bound; the
card keeps pyiqa's text in ``extra['range_text']``). pyiqa's default options are used (e.g. SSIM and MS-SSIM
on the Y channel, PSNR on RGB), so values equal ``pyiqa.create_metric(name)`` on the same inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from backend.errors import InputError, ModelUnavailableError
from backend.iqa.base import ScoreResult, check_inputs
from backend.registry import HubWeights, ModelCard, Status, hub_status, register

PYIQA_WEIGHTS_REPO = "chaofengc/IQA-PyTorch-Weights"
# The repository is versioned by file name; no commit could be verified offline, so the branch is named.
PYIQA_WEIGHTS_REVISION = "main"

# name, task, lower_better, pyiqa range text, summary
_METRICS: tuple[tuple[str, str, bool, str, str], ...] = (
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

# Metrics whose fitted parameters are downloaded by pyiqa: file in the weights repo, local override variable.
_PARAMETER_FILES = {
    "niqe": ("niqe_modelparameters.mat", "HARMONYLAB_NIQE_PARAMS", "about 10 KB"),
    "brisque": ("brisque_svm_weights.pth", "HARMONYLAB_BRISQUE_PARAMS", "about 250 KB"),
}

def parse_range(text: str) -> tuple[float, float]:
    low, high = (part.strip().lstrip("~") for part in text.split(","))
    return float(low), float(high)


def _to_tensor(image: np.ndarray):
    import torch

    array = image if image.flags.writeable and image.flags.c_contiguous else image.copy()
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


class PyiqaMetric:
    """One pyiqa metric behind the registry's ``score`` protocol."""

    def __init__(self, card: ModelCard, device: str | None = None, parameter_file: str | None = None):
        import pyiqa

        from backend.device import default_device

        self.card = card
        self.device = device or default_device()
        options = {} if parameter_file is None else {"pretrained_model_path": parameter_file}
        self.metric = pyiqa.create_metric(card.name, device=self.device, **options)

    def score(self, image: np.ndarray, reference: np.ndarray | None = None, mask: np.ndarray | None = None) -> ScoreResult:
        return self.score_batch([image], None if reference is None else [reference])[0]

    def score_batch(self, images: list[np.ndarray], references: list[np.ndarray] | None = None) -> list[ScoreResult]:
        """Score images of one size in a single pyiqa call (images of mixed sizes are scored one by one)."""
        import torch

        for index, image in enumerate(images):
            check_inputs(self.card, image, None if references is None else references[index], None)
        same_size = len({im.shape for im in images}) == 1
        if not same_size:
            return [self.score_batch([im], None if references is None else [references[i]])[0] for i, im in enumerate(images)]
        target = torch.cat([_to_tensor(im) for im in images]).to(self.device)
        ref = None
        if self.card.full_reference:
            ref = torch.cat([_to_tensor(im) for im in references]).to(self.device)
        try:
            with torch.inference_mode():
                values = self.metric(target, ref) if ref is not None else self.metric(target)
        except (AssertionError, RuntimeError, ValueError, IndexError) as error:
            height, width = images[0].shape[:2]
            raise InputError(
                f"'{self.card.name}' could not score a {width}x{height} image ({error or type(error).__name__}); "
                "try a larger image or another metric."
            ) from error
        values = values.detach().double().cpu().reshape(-1).numpy()
        return [ScoreResult(float(v)) for v in values]


def _parameter_path(name: str) -> Path | None:
    """The local parameter file of NIQE/BRISQUE, if one is present (override, hub cache, pyiqa cache)."""
    filename, env_var, _ = _PARAMETER_FILES[name]
    if os.environ.get(env_var):
        path = Path(os.environ[env_var])
        return path if path.exists() else None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(PYIQA_WEIGHTS_REPO, filename, revision=PYIQA_WEIGHTS_REVISION)
    if isinstance(cached, str):
        return Path(cached)
    from torch.hub import get_dir

    pyiqa_cache = Path(get_dir()) / "pyiqa" / filename
    return pyiqa_cache if pyiqa_cache.exists() else None


def _parameter_status(card: ModelCard) -> Status:
    filename, env_var, _ = _PARAMETER_FILES[card.name]
    if os.environ.get(env_var) and not Path(os.environ[env_var]).exists():
        return Status("unavailable", f"{env_var}={os.environ[env_var]} does not exist")
    if _parameter_path(card.name) is not None:
        return Status("ready")
    status = hub_status(card.hub_weights)
    if status.state == "needs download":
        return Status("needs download", f"{card.hub_weights.describe()}: {filename}; or set {env_var} to a local copy")
    return status


def _fetch_parameters(name: str) -> Path:
    path = _parameter_path(name)
    if path is not None:
        return path
    filename, env_var, size = _PARAMETER_FILES[name]
    from huggingface_hub import hf_hub_download

    from backend.registry import hub_reachable

    try:
        if not hub_reachable():
            raise ConnectionError("the hub is not reachable")
        return Path(hf_hub_download(PYIQA_WEIGHTS_REPO, filename, revision=PYIQA_WEIGHTS_REVISION))
    except Exception as error:  # offline, hub error, ...
        raise ModelUnavailableError(
            f"'{name}' needs its parameter file {filename} ({size}) from {PYIQA_WEIGHTS_REPO}, which could not "
            f"be downloaded here ({type(error).__name__}); download it on a connected machine and set {env_var} "
            "to its path."
        ) from error


def _make_factory(card: ModelCard):
    def factory(device: str | None = None) -> PyiqaMetric:
        parameter_file = str(_fetch_parameters(card.name)) if card.name in _PARAMETER_FILES else None
        return PyiqaMetric(card, device=device, parameter_file=parameter_file)

    return factory


def _register_all() -> None:
    for name, task, lower_better, range_text, summary in _METRICS:
        hub = None
        if name in _PARAMETER_FILES:
            filename, env_var, size = _PARAMETER_FILES[name]
            hub = HubWeights(PYIQA_WEIGHTS_REPO, PYIQA_WEIGHTS_REVISION, size, (filename,), env_var)
        card = ModelCard(
            name=name,
            task=task,
            summary=summary,
            lower_better=lower_better,
            score_range=parse_range(range_text),
            paper=None,
            hub_weights=hub,
            extra={"range_text": range_text, "library": "pyiqa"},
        )
        register(card, _make_factory(card), _parameter_status if name in _PARAMETER_FILES else None)


_register_all()
