"""Registry cards of the HarmonyIQA VLM (paper 000 Sec. III): ``harmonyiqa-vlm-nr`` and ``harmonyiqa-vlm-fr``.

Each needs two things:

* the base VLM from the Hugging Face hub at a pinned revision (the card's ``hub_weights``; default
  ``HuggingFaceTB/SmolVLM-256M-Instruct``, an Idefics3 model: SigLIP vision encoder, pixel-shuffle
  projector, SmolLM2-135M), or a local copy named by ``HARMONYLAB_HARMONYIQA_BASE``;
* a folder trained here by ``python -m backend harmonyiqa train`` (adapters, projector, decoder and a
  ``config.json`` naming the base id and revision it was trained on): the factory option ``adapter``,
  else ``HARMONYLAB_HARMONYIQA_VLM_NR`` / ``HARMONYLAB_HARMONYIQA_VLM_FR``, else
  ``<data dir>/harmonyiqa/vlm-nr`` / ``vlm-fr`` (the training command's default output).

Status: ``unavailable`` with the command to run when no trained folder exists (no trained weights are
shipped: no public HarmonyIQA weights exist and a VLM cannot be tuned on this project's CPU machines);
``needs download (repo@rev, size)`` when the base is not in the hub cache; ``unavailable`` when it is not
cached and ``HF_HUB_OFFLINE`` is set; ``ready`` otherwise. Heavy imports happen in the factory only.
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.errors import ModelUnavailableError
from backend.iqa.harmonyiqa.vlm_model import DEFAULT_BASE, DEFAULT_BASE_SIZE, DEFAULT_REVISION, read_config
from backend.registry import HubWeights, ModelCard, Status, hub_status, register

PAPER = "000 HarmonyIQA (Sec. III)"
BASE_ENV = "HARMONYLAB_HARMONYIQA_BASE"
FOLDER_ENV = {"nr": "HARMONYLAB_HARMONYIQA_VLM_NR", "fr": "HARMONYLAB_HARMONYIQA_VLM_FR"}
BASE_WEIGHTS = HubWeights(DEFAULT_BASE, DEFAULT_REVISION, DEFAULT_BASE_SIZE, ("config.json",), BASE_ENV)
SCORE_RANGE = (0.0, 100.0)
RANGE_TEXT = "the training MOS scale (0-100 for campaign MOS, paper 000 Eq. 1)"


def default_folder(mode: str) -> Path:
    """Where ``harmonyiqa train`` writes by default and the registry looks last."""
    from backend.store.db import data_dir

    return data_dir() / "harmonyiqa" / f"vlm-{mode}"


def adapter_folder(mode: str, adapter: str | Path | None = None) -> Path:
    return Path(adapter or os.environ.get(FOLDER_ENV[mode]) or default_folder(mode))


def _train_hint(mode: str, folder: Path) -> str:
    return (f"train one with `python -m backend harmonyiqa train --mode {mode} --data FILE.csv` (or --campaign NAME) "
            f"into {folder}, or set {FOLDER_ENV[mode]} to a trained folder")


def folder_status(mode: str, adapter: str | Path | None = None) -> Status:
    folder = adapter_folder(mode, adapter)
    if not (folder / "config.json").is_file():
        return Status("unavailable", f"no trained HarmonyIQA VLM in {folder}; {_train_hint(mode, folder)}")
    try:
        config = read_config(folder)
    except ModelUnavailableError as error:
        return Status("unavailable", str(error))
    if config.get("mode") != mode:
        return Status("unavailable", f"{folder} holds a {config.get('mode')} model, not {mode}; {_train_hint(mode, folder)}")
    local = os.environ.get(BASE_ENV)
    if local:
        return Status("ready", f"base: local copy {local}") if Path(local).is_dir() else \
            Status("unavailable", f"{BASE_ENV}={local} is not a folder")
    base, revision = config["base"]["id"], config["base"]["revision"]
    if Path(base).is_dir():
        return Status("ready", f"base: local folder {base}")
    weights = HubWeights(base, revision or "main", DEFAULT_BASE_SIZE if base == DEFAULT_BASE else "unknown size")
    status = hub_status(weights)
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    if status.state == "needs download" and offline:
        return Status("unavailable", f"the base model {weights.describe()} is not in the hub cache and HF_HUB_OFFLINE "
                      f"is set; download it on a connected machine (huggingface-cli download {base} --revision "
                      f"{weights.revision}) or set {BASE_ENV} to a local copy")
    return status


def _register() -> None:
    for mode, summary in (("nr", "HarmonyIQA VLM (NR): LoRA-tuned VLM + score decoder, trained here from ratings."),
                          ("fr", "HarmonyIQA VLM (FR): harmonized image and reference into a LoRA-tuned VLM + decoder.")):
        card = ModelCard(f"harmonyiqa-vlm-{mode}", "iqa-fr" if mode == "fr" else "iqa-nr", summary,
                         lower_better=False, score_range=SCORE_RANGE, paper=PAPER, hub_weights=BASE_WEIGHTS,
                         extra={"range_text": RANGE_TEXT, "mode": mode, "options": ("adapter", "device"),
                                "folder_env": FOLDER_ENV[mode]})

        def factory(adapter=None, device=None, _card=card, _mode=mode):
            from backend.iqa.harmonyiqa.vlm_model import HarmonyIQAVLM

            status = folder_status(_mode, adapter)
            if status.state == "unavailable":
                raise ModelUnavailableError(f"Model '{_card.name}' is not available here: {status.detail}.")
            model = HarmonyIQAVLM.load(adapter_folder(_mode, adapter), device=device,
                                       base=os.environ.get(BASE_ENV) or None, size=DEFAULT_BASE_SIZE)
            model.card = _card
            return model

        def status_check(_card, _mode=mode):
            return folder_status(_mode)

        register(card, factory, status_check)


_register()
