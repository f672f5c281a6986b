"""Where a trained HarmonyIQA VLM (paper 000 Sec. III) lives, and whether it can be built here.

``harmonyiqa-vlm-nr`` and ``harmonyiqa-vlm-fr`` (``registration``) each need two things:

* the base VLM from the Hugging Face hub at a pinned revision (the card's ``hub_weights``; default
  ``HuggingFaceTB/SmolVLM-256M-Instruct``, an Idefics3 model: SigLIP vision encoder, pixel-shuffle
  projector, SmolLM2-135M), or a local copy named by ``HARMONYLAB_HARMONYIQA_BASE``;
* a folder trained here by ``python -m backend harmonyiqa train`` (adapters, projector, decoder and a
  ``config.json`` naming the base id and revision it was trained on): the factory option ``adapter``
  (``harmonyiqa-vlm-nr:FOLDER``), else the settings ``HARMONYLAB_HARMONYIQA_VLM_NR`` /
  ``HARMONYLAB_HARMONYIQA_VLM_FR``, else
  ``<data dir>/harmonyiqa/vlm-nr`` / ``vlm-fr`` (the training command's default output).

Status: ``unavailable`` with the command to run when no trained folder exists (no trained weights are
shipped: no public HarmonyIQA weights exist and a VLM cannot be tuned on this project's CPU machines);
``needs download (repo@rev, size)`` when the base is not in the hub cache; ``unavailable`` when it is not
cached and ``HF_HUB_OFFLINE`` is set; ``ready`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

from backend import settings
from backend.errors import ModelUnavailableError
from backend.iqa.harmonyiqa.vlm.model import DEFAULT_BASE, DEFAULT_BASE_SIZE, DEFAULT_REVISION, read_config
from backend.weights import HubWeights, Status, hub_status

BASE_ENV = "HARMONYLAB_HARMONYIQA_BASE"
FOLDER_ENV = {"nr": "HARMONYLAB_HARMONYIQA_VLM_NR", "fr": "HARMONYLAB_HARMONYIQA_VLM_FR"}
BASE_WEIGHTS = HubWeights(DEFAULT_BASE, DEFAULT_REVISION, DEFAULT_BASE_SIZE, ("config.json",), BASE_ENV)


def default_folder(mode: str) -> Path:
    """Where ``harmonyiqa train`` writes by default and the registry looks last."""
    return settings.current().data_dir / "harmonyiqa" / f"vlm-{mode}"


def adapter_folder(mode: str, adapter: str | Path | None = None) -> Path:
    return Path(adapter or settings.current().value(FOLDER_ENV[mode]) or default_folder(mode))


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
    local = settings.current().harmonyiqa_base
    if local is not None:
        return Status("ready", f"base: local copy {local}") if Path(local).is_dir() else \
            Status("unavailable", f"{BASE_ENV}={local} is not a folder")
    base, revision = config["base"]["id"], config["base"]["revision"]
    if Path(base).is_dir():
        return Status("ready", f"base: local folder {base}")
    weights = HubWeights(base, revision or "main", DEFAULT_BASE_SIZE if base == DEFAULT_BASE else "unknown size")
    status = hub_status(weights)
    if status.state == "needs download" and settings.current().hub_offline:
        return Status("unavailable", f"the base model {weights.describe()} is not in the hub cache and HF_HUB_OFFLINE "
                      f"is set; download it on a connected machine (huggingface-cli download {base} --revision "
                      f"{weights.revision}) or set {BASE_ENV} to a local copy")
    return status
