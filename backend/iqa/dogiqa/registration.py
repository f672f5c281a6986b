"""Registry cards of Dog-IQA (paper 003), task ``iqa-nr``.

* ``dogiqa`` -- offline: the segmenter of the registry (SAM 2 when its weights are present, else the offline
  region segmenter) and any registry no-reference model mapped onto 1..K (option ``scorer``, default
  ``piqe``, chosen by the held-out benchmark) by the shipped reference quantiles ``assets/dogiqa/calibration.json``.
* ``dogiqa-vlm`` -- the paper's route: a transformers VLM answering the K-level standard. Default
  ``Qwen/Qwen2-VL-2B-Instruct`` at a pinned commit (the paper's mPLUG-Owl3 needs remote code that
  transformers does not ship; Table 6 shows the newer, stronger MLLMs score best); options ``model_id`` /
  ``revision`` take any other image-text-to-text model (CLI/UI: ``--scorer vlm:<hub id>[@revision]``);
  ``HARMONYLAB_DOGIQA_VLM`` names a local copy.

Common options: ``k`` (3, 5, 7, 9), ``formula`` (paper, public), ``readout`` (argmax, weighted,
generated -- VLM only), ``c_max``, ``area_threshold``, ``min_side``, ``segmenter``.
"""

from __future__ import annotations

from backend.iqa.dogiqa.offline import CALIBRATION_ASSET, DEFAULT_SCORER
from backend.registry import HubWeights, ModelCard, Status, register

PAPER = "003 Dog-IQA (standard-guided zero-shot MLLM, mix-grained)"
DEFAULT_VLM = HubWeights("Qwen/Qwen2-VL-2B-Instruct", "895c3a49bc3fa70a340399125c650a463535e71c",
                         "about 4.4 GB (bf16)", ("config.json",), "HARMONYLAB_DOGIQA_VLM")
RANGE_TEXT = "1 .. 2K with the paper's formula (K levels + K c/c_max); 1.5 .. 1.5K + 0.1c with the public one"
OPTIONS = ("k", "formula", "readout", "c_max", "area_threshold", "min_side", "segmenter")



def _offline(scorer: str = DEFAULT_SCORER, k: int = 7, calibration=None, **options):
    from backend import registry
    from backend.iqa.dogiqa.model import DogIQA
    from backend.iqa.dogiqa.offline import QuantileScorer

    return DogIQA(registry.card("dogiqa"), QuantileScorer(scorer, k, calibration), k=k, calibration=calibration, **options)


def _vlm(model_id: str | None = None, revision: str | None = None, trust_remote_code: bool = False, k: int = 7,
         device: str | None = None, batch_size: int = 4, **options):
    import os

    from backend import registry
    from backend.iqa.dogiqa.model import DogIQA
    from backend.iqa.dogiqa.standard import VLMStandardScorer

    size = "unknown size"
    if not model_id:
        local = os.environ.get(DEFAULT_VLM.local_env or "")
        model_id, revision = (local, None) if local else (DEFAULT_VLM.repo, revision or DEFAULT_VLM.revision)
        size = DEFAULT_VLM.size
    scorer = VLMStandardScorer(model_id, revision, k, trust_remote_code, device=device, batch_size=batch_size, size=size)
    return DogIQA(registry.card("dogiqa-vlm"), scorer, k=k, **options)


def _offline_status(card: ModelCard) -> Status:
    from backend import registry
    from backend.registry import ASSETS_DIR

    if not (ASSETS_DIR / CALIBRATION_ASSET).exists():
        return Status("unavailable", f"{CALIBRATION_ASSET} missing from assets/; run `python -m backend dogiqa-calibrate`")
    scorer = registry.status(DEFAULT_SCORER)
    if not scorer.ready:
        return Status(scorer.state, f"default scorer {DEFAULT_SCORER}: {scorer.detail}")
    return Status("ready", f"scorer {DEFAULT_SCORER}; any calibrated NR model via scorer=")


register(ModelCard("dogiqa", "iqa-nr", "Dog-IQA offline: Algorithm 1 regions + a registry NR model on a K-level "
                   "standard (quantile-mapped), mix-grained aggregation.", paper=PAPER, score_range=(1.0, 14.0),
                   shipped_weights=(CALIBRATION_ASSET,),
                   extra={"range_text": RANGE_TEXT, "options": ("scorer", "calibration", *OPTIONS)}),
         _offline, _offline_status)
register(ModelCard("dogiqa-vlm", "iqa-nr", "Dog-IQA with a VLM answering the K-level standard (digit logits), "
                   "whole image + object crops, mix-grained aggregation.", paper=PAPER, score_range=(1.0, 14.0),
                   hub_weights=DEFAULT_VLM,
                   extra={"range_text": RANGE_TEXT,
                          "options": ("model_id", "revision", "trust_remote_code", "device", "batch_size", *OPTIONS)}),
         _vlm)
