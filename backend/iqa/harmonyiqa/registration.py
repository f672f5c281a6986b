"""Registry cards of HarmonyIQA (paper 000): the offline lite models and the paper's VLM.

* ``harmonyiqa-lite-nr`` / ``harmonyiqa-lite-fr``: small CNNs trained here on synthetic composites
  (``lite.data``, ``lite.train``) and shipped in ``assets/harmonyiqa/`` with JSON cards. Neither needs a
  mask (campaign items carry none, and the leaderboard's models-vs-people comparison takes only mask-free
  models), but both use it when given. Not the paper's VLM.
* ``harmonyiqa-seam``: the training-free no-reference cue of ``seam.py`` (the outline a recoloured foreground
  leaves); the default NR HarmonyIQA model since issue #23, because it holds up on photo sources no model saw,
  where the learned NR model fell to chance (``benchmarks/harmonyiqa.py``, per source and unseen).
* ``harmonyiqa-vlm-nr`` / ``harmonyiqa-vlm-fr`` (Sec. III): a LoRA-tuned VLM + score decoder trained here
  from ratings (``harmonyiqa train``); ``harmonyiqa-vlm-nr:FOLDER`` names a trained folder
  (:mod:`backend.iqa.harmonyiqa.vlm.folder` says where they are looked for and when they are ready).
"""

from __future__ import annotations

from functools import partial

from backend import settings
from backend.errors import ModelUnavailableError
from backend.iqa.harmonyiqa.vlm.folder import BASE_WEIGHTS, adapter_folder, folder_status
from backend.iqa.harmonyiqa.vlm.model import DEFAULT_BASE_SIZE
from backend.registry import ModelCard, register
from backend.weights import ASSETS_DIR

LITE_PAPER = "000 HarmonyIQA (lite offline model trained here; not the paper's VLM)"
VLM_PAPER = "000 HarmonyIQA (Sec. III)"
NR_WEIGHTS = "harmonyiqa/harmonyiqa-lite-nr.safetensors"
FR_WEIGHTS = "harmonyiqa/harmonyiqa-lite-fr.safetensors"
SCORE_RANGE = (0.0, 100.0)
LITE_RANGE_TEXT = "0, 100 (MOS-like, from the iHarmony4 fMSE)"
VLM_RANGE_TEXT = "the training MOS scale (0-100 for campaign MOS, paper 000 Eq. 1)"


def lite_card(mode: str, weights: str) -> ModelCard:
    against = "against the reference" if mode == "fr" else "without a reference"
    return ModelCard(f"harmonyiqa-lite-{mode}", "iqa-fr" if mode == "fr" else "iqa-nr",
                     "HarmonyIQA-lite: small CNN trained here on synthetic composites; harmonization quality 0-100 "
                     f"{against} (uses the foreground mask when given).",
                     score_range=SCORE_RANGE, range_text=LITE_RANGE_TEXT, paper=LITE_PAPER, uses_mask=True,
                     shipped_weights=(weights,))


# name -> (card, shipped weights under assets/)
CARDS = {card.name: (card, weights) for card, weights in ((lite_card("nr", NR_WEIGHTS), NR_WEIGHTS),
                                                           (lite_card("fr", FR_WEIGHTS), FR_WEIGHTS))}


def build_lite(card: ModelCard, default_weights: str, weights: str | None = None, threads: int | None = None):
    from backend.iqa.harmonyiqa.lite.model import LiteScorer

    return LiteScorer(card, weights or ASSETS_DIR / default_weights, threads=threads)


for _card, _weights in CARDS.values():
    register(_card)(partial(build_lite, _card, _weights))


SEAM_CARD = ModelCard("harmonyiqa-seam", "iqa-nr",
                      "HarmonyIQA seam cue (training-free): how far the outline pixels of the foreground fall from a "
                      "natural blend with the background; 0-100, higher is better (uses the mask when given, else "
                      "searches the segmenter's regions).",
                      score_range=SCORE_RANGE, range_text="0, 100 (100 / (1 + seam / 33))",
                      paper="000 HarmonyIQA task; training-free cue of issue #23 (not in the paper)", uses_mask=True)


@register(SEAM_CARD)
def build_seam():
    from backend.iqa.harmonyiqa.seam import SeamScorer

    return SeamScorer(SEAM_CARD)


def vlm_card(mode: str) -> ModelCard:
    summary = ("HarmonyIQA VLM (NR): LoRA-tuned VLM + score decoder, trained here from ratings." if mode == "nr" else
               "HarmonyIQA VLM (FR): harmonized image and reference into a LoRA-tuned VLM + decoder.")
    return ModelCard(f"harmonyiqa-vlm-{mode}", "iqa-fr" if mode == "fr" else "iqa-nr", summary,
                     score_range=SCORE_RANGE, range_text=VLM_RANGE_TEXT, paper=VLM_PAPER, hub_weights=BASE_WEIGHTS,
                     argument="adapter", argument_hint="<trained folder>", argument_kind="path")


def build_vlm(card: ModelCard, mode: str, adapter: str | None = None, device: str | None = None):
    from backend.iqa.harmonyiqa.vlm.model import HarmonyIQAVLM

    status = folder_status(mode, adapter)
    if status.state == "unavailable":
        raise ModelUnavailableError(f"Model '{card.name}' is not available here: {status.detail}.")
    base = settings.current().harmonyiqa_base
    model = HarmonyIQAVLM.load(adapter_folder(mode, adapter), device=device, base=str(base) if base else None,
                               size=DEFAULT_BASE_SIZE)
    model.card = card
    return model


def vlm_status(mode: str, card: ModelCard):
    return folder_status(mode)


for _mode in ("nr", "fr"):
    _card = vlm_card(_mode)
    register(_card, status=partial(vlm_status, _mode))(partial(build_vlm, _card, _mode))
