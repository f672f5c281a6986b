"""Model registry: cards and factories (DESIGN.md, "The registry contract"; the timm idea, with cards).

A model is registered once with a :class:`ModelCard` and a factory. ``create(name, **options)`` builds it
lazily and caches it per (name, options); ``status(name)`` says whether it can be built here: ``ready``,
``needs download`` (naming the pinned repo, revision and size) or ``unavailable`` (with the reason).

Cards are registered by *provider modules* (listed in :data:`PROVIDER_MODULES`) that are imported the first
time the registry is asked anything. Providers must keep their module import light: heavy libraries
(torch models, pyiqa, transformers) are imported inside the factory.

Model objects follow the task's protocol: IQA models (``iqa-fr`` / ``iqa-nr``) implement
``score(image, reference=None, mask=None) -> ScoreResult`` (see ``backend.iqa.base``).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import InputError, ModelUnavailableError

TASKS = ("harmonize", "iqa-fr", "iqa-nr", "comparator", "segment")

PROVIDER_MODULES = (
    "backend.iqa.classical",
    "backend.iqa.compare2score.registration",
    "backend.harmonization.metrics",
    "backend.segmentation.models",
    "backend.harmonization.models",
    "backend.iqa.promptiqa.registration",
    "backend.iqa.dogiqa.registration",
    "backend.iqa.harmonyiqa.vlm_registration",
    "backend.iqa.harmonyiqa.lite_registration",
)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class HubWeights:
    """Weights that come from the Hugging Face hub at a pinned revision (or a local override)."""

    repo: str
    revision: str
    size: str = "unknown size"
    files: tuple[str, ...] = ()
    local_env: str | None = None  # environment variable naming a local copy

    def describe(self) -> str:
        return f"{self.repo}@{self.revision[:12]}, {self.size}"


@dataclass(frozen=True)
class ModelCard:
    name: str
    task: str
    summary: str
    lower_better: bool = False
    score_range: tuple[float, float] | None = None
    paper: str | None = None
    needs_mask: bool = False
    needs_prompt: bool = False
    shipped_weights: tuple[str, ...] = ()  # files under assets/
    hub_weights: HubWeights | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def full_reference(self) -> bool:
        return self.task == "iqa-fr"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "summary": self.summary,
            "lower_better": self.lower_better,
            "score_range": list(self.score_range) if self.score_range else None,
            "paper": self.paper,
            "needs_mask": self.needs_mask,
            "needs_prompt": self.needs_prompt,
        }


@dataclass(frozen=True)
class Status:
    state: str  # "ready" | "needs download" | "unavailable"
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def __str__(self) -> str:
        return self.state if not self.detail else f"{self.state} ({self.detail})"


StatusCheck = Callable[[ModelCard], Status]


@dataclass
class _Entry:
    card: ModelCard
    factory: Callable[..., Any]
    check: StatusCheck | None


_entries: dict[str, _Entry] = {}
_instances: dict[tuple, Any] = {}
_registry_lock = threading.RLock()
_build_locks: dict[tuple, threading.Lock] = {}
_providers_loaded = False


def register(card: ModelCard, factory: Callable[..., Any], status_check: StatusCheck | None = None) -> None:
    """Register ``card`` with its ``factory(**options)``; ``status_check(card)`` overrides the default."""
    if card.task not in TASKS:
        raise ValueError(f"unknown task {card.task!r} for model {card.name!r}; tasks are {TASKS}")
    with _registry_lock:
        if card.name in _entries:
            raise ValueError(f"model {card.name!r} is registered twice")
        _entries[card.name] = _Entry(card, factory, status_check)


def _load_providers() -> None:
    global _providers_loaded
    if _providers_loaded:
        return
    with _registry_lock:
        if _providers_loaded:
            return
        for module_name in PROVIDER_MODULES:
            importlib.import_module(module_name)
        _providers_loaded = True


def _entry(name: str) -> _Entry:
    _load_providers()
    entry = _entries.get(name)
    if entry is None:
        known = ", ".join(sorted(_entries))
        raise InputError(f"Unknown model '{name}'. Known models: {known}.")
    return entry


def list_models(task: str | tuple[str, ...] | None = None) -> list[ModelCard]:
    """Cards of the registered models, optionally of one task (or several), in registration order."""
    _load_providers()
    tasks = (task,) if isinstance(task, str) else task
    if tasks is not None:
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise InputError(f"Unknown task '{unknown[0]}'. Tasks are: {', '.join(TASKS)}.")
    return [e.card for e in _entries.values() if tasks is None or e.card.task in tasks]


def card(name: str) -> ModelCard:
    return _entry(name).card


def _default_status(model_card: ModelCard) -> Status:
    missing = [f for f in model_card.shipped_weights if not (ASSETS_DIR / f).exists()]
    if missing:
        return Status("unavailable", f"shipped weights missing from assets/: {', '.join(missing)}")
    if model_card.hub_weights is not None:
        return hub_status(model_card.hub_weights)
    return Status("ready")


def hub_status(weights: HubWeights) -> Status:
    """``ready`` when a local override or the hub cache holds the pinned files, else ``needs download``."""
    import os

    if weights.local_env and os.environ.get(weights.local_env):
        local = Path(os.environ[weights.local_env])
        if local.exists():
            return Status("ready", f"local copy {local}")
        return Status("unavailable", f"{weights.local_env}={local} does not exist")
    from huggingface_hub import try_to_load_from_cache

    files = weights.files or ("config.json",)
    for filename in files:
        cached = try_to_load_from_cache(weights.repo, filename, revision=weights.revision)
        if not isinstance(cached, str):
            return Status("needs download", weights.describe())
    return Status("ready", "hub cache")


def hub_reachable(timeout: float = 3.0) -> bool:
    """False when downloads cannot work: ``HF_HUB_OFFLINE`` set, or the hub host does not answer quickly.

    Checked before a download so an offline machine gets a clear message at once instead of the hub
    client's retries.
    """
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def status(name: str) -> Status:
    entry = _entry(name)
    check = entry.check or _default_status
    try:
        return check(entry.card)
    except Exception as error:  # a status check must never take the app down
        return Status("unavailable", f"status check failed: {error}")


def _options_key(name: str, options: dict[str, Any]) -> tuple:
    def freeze(value: Any) -> Any:
        if isinstance(value, dict):
            return tuple(sorted((k, freeze(v)) for k, v in value.items()))
        if isinstance(value, (list, tuple)):
            return tuple(freeze(v) for v in value)
        return value

    return (name, freeze(options))


def create(name: str, **options: Any) -> Any:
    """Build (once) and return the model ``name`` with ``options``; thread-safe and cached.

    Raises :class:`ModelUnavailableError` naming what to download or install when the model cannot be
    built here.
    """
    entry = _entry(name)
    key = _options_key(name, options)
    cached = _instances.get(key)
    if cached is not None:
        return cached
    with _registry_lock:
        lock = _build_locks.setdefault(key, threading.Lock())
    with lock:
        cached = _instances.get(key)
        if cached is not None:
            return cached
        current = status(name)
        if current.state == "unavailable":
            raise ModelUnavailableError(f"Model '{name}' is not available here: {current.detail}.")
        # "needs download": the factory fetches the pinned files and raises ModelUnavailableError offline.
        instance = entry.factory(**options)
        _instances[key] = instance
        return instance


def clear_cache() -> None:
    """Forget built models (tests, or to free memory)."""
    with _registry_lock:
        _instances.clear()
