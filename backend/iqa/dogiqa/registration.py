"""Registry cards of Dog-IQA (paper 003), task ``iqa-nr``.

* ``dogiqa`` / ``dogiqa:SCORER`` -- offline: the segmenter of the registry (SAM 2 when its weights are
  present, else the offline region segmenter) and any registry no-reference model (default ``piqe``, chosen
  by the held-out benchmark) mapped onto 1..K by the shipped reference quantiles
  ``assets/dogiqa/calibration.json``.
* ``dogiqa-vlm`` / ``dogiqa-vlm:HUB_ID_OR_FOLDER[@REVISION]`` -- the paper's route: a transformers VLM
  answering the K-level standard. Default ``Qwen/Qwen2-VL-2B-Instruct`` at a pinned commit (the paper's
  mPLUG-Owl3 needs remote code that transformers does not ship; Table 6 shows the newer, stronger MLLMs
  score best); the setting ``HARMONYLAB_DOGIQA_VLM`` names a local copy.

Common options: ``k`` (3, 5, 7, 9), ``formula`` (paper, public), ``readout`` (argmax, weighted,
generated -- VLM only), ``c_max``, ``area_threshold``, ``min_side``, ``segmenter``.
"""

from __future__ import annotations

from backend import registry
from backend.iqa.dogiqa.algorithm import DEFAULT_AREA_THRESHOLD, DEFAULT_MIN_SIDE
from backend.iqa.dogiqa.offline import CALIBRATION_ASSET, DEFAULT_SCORER
from backend.registry import ModelCard, register
from backend.weights import ASSETS_DIR, HubWeights, Status

PAPER = "003 Dog-IQA (standard-guided zero-shot MLLM, mix-grained)"
DEFAULT_VLM = HubWeights("Qwen/Qwen2-VL-2B-Instruct", "895c3a49bc3fa70a340399125c650a463535e71c",
                         "about 4.4 GB (bf16)", ("config.json",), "HARMONYLAB_DOGIQA_VLM")
RANGE_TEXT = "1 .. 2K with the paper's formula (K levels + K c/c_max); 1.5 .. 1.5K + 0.1c with the public one"

OFFLINE = ModelCard("dogiqa", "iqa-nr", "Dog-IQA offline: Algorithm 1 regions + a registry NR model on a K-level "
                    "standard (quantile-mapped), mix-grained aggregation.", paper=PAPER, score_range=(1.0, 14.0),
                    range_text=RANGE_TEXT, shipped_weights=(CALIBRATION_ASSET,), argument="scorer",
                    argument_hint="<calibrated no-reference model>")
VLM = ModelCard("dogiqa-vlm", "iqa-nr", "Dog-IQA with a VLM answering the K-level standard (digit logits), "
                "whole image + object crops, mix-grained aggregation.", paper=PAPER, score_range=(1.0, 14.0),
                range_text=RANGE_TEXT, hub_weights=DEFAULT_VLM, argument="model_id",
                argument_hint="<hub id or folder>[@revision]", argument_kind="hub")


def offline_status(card: ModelCard) -> Status:
    if not (ASSETS_DIR / CALIBRATION_ASSET).exists():
        return Status("unavailable", f"{CALIBRATION_ASSET} missing from assets/; run `python -m backend dogiqa-calibrate`")
    scorer = registry.status(DEFAULT_SCORER)
    if not scorer.ready:
        return Status(scorer.state, f"default scorer {DEFAULT_SCORER}: {scorer.detail}")
    return Status("ready", f"scorer {DEFAULT_SCORER}; any calibrated NR model via dogiqa:MODEL")


@register(OFFLINE, status=offline_status)
def build_offline(scorer: str = DEFAULT_SCORER, k: int = 7, calibration: str | None = None, segmenter: str | None = None,
                  formula: str = "paper", readout: str = "argmax", c_max: float | None = None,
                  area_threshold: float = DEFAULT_AREA_THRESHOLD, min_side: int = DEFAULT_MIN_SIDE):
    from dataclasses import replace

    from backend.iqa.dogiqa.model import DogIQA
    from backend.iqa.dogiqa.offline import QuantileScorer

    card = OFFLINE if scorer == DEFAULT_SCORER else replace(OFFLINE, name=f"dogiqa:{scorer}")
    return DogIQA(card, QuantileScorer(scorer, k, calibration), segmenter=segmenter, k=k, formula=formula,
                  readout=readout, c_max=c_max, area_threshold=area_threshold, min_side=min_side,
                  calibration=calibration)


@register(VLM)
def build_vlm(model_id: str | None = None, revision: str | None = None, trust_remote_code: bool = False, k: int = 7,
              device: str | None = None, batch_size: int = 4, segmenter: str | None = None, formula: str = "paper",
              readout: str = "argmax", c_max: float | None = None, area_threshold: float = DEFAULT_AREA_THRESHOLD,
              min_side: int = DEFAULT_MIN_SIDE):
    from backend.iqa.dogiqa.model import DogIQA
    from backend.iqa.dogiqa.standard import VLMStandardScorer

    size = "unknown size"
    if not model_id:
        local = DEFAULT_VLM.local_copy()
        model_id, revision = (str(local), None) if local else (DEFAULT_VLM.repo, revision or DEFAULT_VLM.revision)
        size = DEFAULT_VLM.size
    scorer = VLMStandardScorer(model_id, revision, k, trust_remote_code, device=device, batch_size=batch_size, size=size)
    return DogIQA(VLM, scorer, segmenter=segmenter, k=k, formula=formula, readout=readout, c_max=c_max,
                  area_threshold=area_threshold, min_side=min_side)
