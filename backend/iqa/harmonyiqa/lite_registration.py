"""Registry cards of HarmonyIQA-lite (paper 000 issue item 3): ``harmonyiqa-lite-nr`` and ``harmonyiqa-lite-fr``.

Both are small CNNs trained here on synthetic composites (``lite_data``, ``lite_train``) and shipped in
``assets/harmonyiqa/`` with JSON cards. Neither needs a mask (campaign items carry none, and the
leaderboard's models-vs-people comparison takes only mask-free models), but both use it when given.
The import stays light: torch is imported by the factory.
"""

from __future__ import annotations

from backend.registry import ASSETS_DIR, ModelCard, register

PAPER = "000 HarmonyIQA (lite offline model trained here; not the paper's VLM)"
NR_WEIGHTS = "harmonyiqa/harmonyiqa-lite-nr.safetensors"
FR_WEIGHTS = "harmonyiqa/harmonyiqa-lite-fr.safetensors"
SCORE_RANGE = (0.0, 100.0)

CARDS = {
    "harmonyiqa-lite-nr": (ModelCard(
        "harmonyiqa-lite-nr", "iqa-nr",
        "HarmonyIQA-lite: small CNN trained here on synthetic composites; harmonization quality 0-100 "
        "without a reference (uses the foreground mask when given).",
        lower_better=False, score_range=SCORE_RANGE, paper=PAPER, shipped_weights=(NR_WEIGHTS,),
        extra={"range_text": "0, 100 (MOS-like, from the iHarmony4 fMSE)", "uses_mask": True}), NR_WEIGHTS),
    "harmonyiqa-lite-fr": (ModelCard(
        "harmonyiqa-lite-fr", "iqa-fr",
        "HarmonyIQA-lite: small CNN trained here on synthetic composites; harmonization quality 0-100 "
        "against the reference (uses the foreground mask when given).",
        lower_better=False, score_range=SCORE_RANGE, paper=PAPER, shipped_weights=(FR_WEIGHTS,),
        extra={"range_text": "0, 100 (MOS-like, from the iHarmony4 fMSE)", "uses_mask": True}), FR_WEIGHTS),
}


def _register() -> None:
    for card, weights in CARDS.values():
        def factory(weights: str | None = None, threads: int | None = None, _card=card, _default=weights):
            from backend.iqa.harmonyiqa.lite import LiteScorer

            return LiteScorer(_card, weights or ASSETS_DIR / _default, threads=threads)

        register(card, factory)


_register()
