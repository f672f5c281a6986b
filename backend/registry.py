"""Model registry: cards and factories (DESIGN.md, "The registry contract"; the timm idea, with cards).

A model family lives in one package with one ``registration.py`` that registers its models::

    CARD = ModelCard("my-metric", "iqa-nr", "What it measures.", score_range=(0, 1))

    @register(CARD)
    def build(device: str | None = None):      # the factory: its parameters are the model's options
        from backend.iqa.my_family.model import MyMetric   # heavy modules load here, not at import

        return MyMetric(CARD, device)

The registry finds every ``backend/**/registration.py`` the first time it is asked anything (a new family
is a copied folder, no list to edit) and imports it; registration modules stay light (torch, pyiqa and
transformers are imported by the factories).

``create(name, **options)`` builds lazily and caches per (name, options); ``status(name)`` says whether the
model can be built here: ``ready``, ``needs download`` (repo, revision, size) or ``unavailable`` (reason).

Parameterised names: a card whose ``argument`` names one of its options accepts ``family:ARG`` and, when
the factory takes ``revision``, ``family:ARG@REVISION`` -- e.g. ``nr-thurstone:piqe`` (a no-reference
model as a comparator), ``vlm:Qwen/Qwen2-VL-2B-Instruct@895c3a4`` or ``dogiqa:brisque``. Every caller
(Score tab, CLI, REST, services) goes through :func:`card` / :func:`create`, so every caller takes them.
The card's ``argument_kind`` says what ARG is: ``model`` (a registered model name, itself checked),
``hub`` (a hub repository id, or a folder) or ``path`` (a folder). A public process (the app calls
:func:`serve_publicly`) takes only what a visitor may name: registered models, hub ids when the operator
allows visitors to name hub models (``HARMONYLAB_VISITOR_HUB_MODELS``), never a server path.

Built models are cached per (name, options), at most ``MAX_CACHED_MODELS`` of them (least recently used
dropped), so options a visitor varies cannot grow the process without bound.

Model objects follow their task's protocol (``backend.protocols``): IQA models implement
``score(image, reference=None, mask=None) -> ScoreResult``; harmonizers ``harmonize(composite, mask)``;
comparators ``compare(first, second)``; segmenters ``segment(image)``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from backend.errors import InputError, ModelUnavailableError
from backend.weights import ASSETS_DIR, HubWeights, Status, hub_status

TASKS = ("harmonize", "iqa-fr", "iqa-nr", "comparator", "segment")
IMPLEMENTATIONS = ("harmonylab", "pyiqa", "fast")
ARGUMENT_KINDS = ("model", "hub", "path")
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
MAX_CACHED_MODELS = 32
BACKEND_DIR = Path(__file__).resolve().parent
REGISTRATION_MODULE = "registration"


@dataclass(frozen=True)
class ModelCard:
    """What a model is, before it is built: the registry lists, filters and checks inputs by these fields."""

    name: str
    task: str  # one of TASKS
    summary: str
    lower_better: bool = False
    score_range: tuple[float, float] | None = None
    range_text: str | None = None  # the range in words when it is approximate or depends on something
    paper: str | None = None
    needs_mask: bool = False  # refuses to score without the foreground mask
    uses_mask: bool = False  # scores without a mask, and uses one when given
    needs_prompt: bool = False  # scores under an image-score-pair prompt (PromptIQA)
    shipped_weights: tuple[str, ...] = ()  # files under assets/
    hub_weights: HubWeights | None = None
    implementation: str = "harmonylab"  # who computes it: harmonylab, pyiqa, or fast (our code, equal to pyiqa)
    argument: str | None = None  # the option a name "family:ARG" fills
    argument_hint: str = ""  # how to write ARG, for messages (e.g. "<hub id or folder>[@revision]")
    argument_kind: str = "model"  # what ARG is: a registered model name, a hub id (or folder), a folder path

    @property
    def full_reference(self) -> bool:
        return self.task == "iqa-fr"

    @property
    def range_description(self) -> str:
        if self.range_text:
            return self.range_text
        return f"{self.score_range[0]:g}, {self.score_range[1]:g}" if self.score_range else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "summary": self.summary,
            "lower_better": self.lower_better,
            "score_range": list(self.score_range) if self.score_range else None,
            "range_text": self.range_description,
            "paper": self.paper,
            "needs_mask": self.needs_mask,
            "uses_mask": self.uses_mask,
            "needs_prompt": self.needs_prompt,
            "implementation": self.implementation,
            "name_form": f"{self.name}:{self.argument_hint or 'ARG'}" if self.argument else self.name,
        }


StatusCheck = Callable[[ModelCard], Status]


@dataclass(frozen=True)
class _Entry:
    card: ModelCard
    factory: Callable[..., Any]
    check: StatusCheck | None
    options: tuple[str, ...]  # the factory's keyword parameters
    any_option: bool  # the factory takes **options


_entries: dict[str, _Entry] = {}
_instances: OrderedDict[tuple, Any] = OrderedDict()
_public = {"serving": False, "hub_ids": False}
_registry_lock = threading.RLock()
_build_locks: dict[tuple, threading.Lock] = {}
_families_loaded = False


def register(card: ModelCard, status: StatusCheck | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register the decorated factory for ``card``; ``status(card)`` replaces the default check
    (shipped files present, hub files cached)."""
    if card.task not in TASKS:
        raise ValueError(f"unknown task {card.task!r} for model {card.name!r}; tasks are {TASKS}")
    if card.implementation not in IMPLEMENTATIONS:
        raise ValueError(f"unknown implementation {card.implementation!r} for model {card.name!r}")
    if card.argument_kind not in ARGUMENT_KINDS:
        raise ValueError(f"unknown argument kind {card.argument_kind!r} for model {card.name!r}")

    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        parameters = inspect.signature(factory).parameters.values()
        options = tuple(p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        any_option = any(p.kind == p.VAR_KEYWORD for p in parameters)
        if card.argument is not None and card.argument not in options and not any_option:
            raise ValueError(f"model {card.name!r}: argument {card.argument!r} is not a factory option")
        with _registry_lock:
            if card.name in _entries:
                raise ValueError(f"model {card.name!r} is registered twice")
            _entries[card.name] = _Entry(card, factory, status, options, any_option)
        return factory

    return decorate


def unregister(name: str) -> None:
    """Forget a model (tests that register a throw-away model)."""
    with _registry_lock:
        _entries.pop(name, None)
        for key in [k for k in _instances if k[0] == name]:
            _instances.pop(key, None)


def registration_modules() -> list[str]:
    """Every ``backend/**/registration.py`` as a module name, ordered by ``LISTING_ORDER`` then path."""
    modules = []
    for path in sorted(BACKEND_DIR.rglob(f"{REGISTRATION_MODULE}.py")):
        parts = path.relative_to(BACKEND_DIR.parent).with_suffix("").parts
        modules.append(".".join(parts))
    return modules


def _load_families() -> None:
    global _families_loaded
    if _families_loaded:
        return
    with _registry_lock:
        if _families_loaded:
            return
        # Listing order: a family may ask to come first (LISTING_ORDER, default 100); then by path.
        order: dict[str, tuple[int, int]] = {}
        for index, module_name in enumerate(registration_modules()):
            before = set(_entries)
            module = importlib.import_module(module_name)
            for name in _entries.keys() - before:
                order[name] = (getattr(module, "LISTING_ORDER", 100), index)
        ordered = sorted(_entries.items(), key=lambda item: order.get(item[0], (100, len(order))))
        _entries.clear()
        _entries.update(ordered)
        _families_loaded = True


def serve_publicly(allow_hub_ids: bool = False) -> None:
    """From now on, this process takes only names a visitor may give (module docstring)."""
    _public.update(serving=True, hub_ids=bool(allow_hub_ids))


def _check_public_argument(card: ModelCard, argument: str) -> None:
    if not _public["serving"]:
        return
    if card.argument_kind == "model":
        parse_name(argument)  # a registered model (its own argument checked the same way), else InputError
    elif card.argument_kind == "path":
        raise InputError(f"'{card.name}:{card.argument_hint}' names a folder on the server, which only the operator "
                         f"can do (settings or the command line); pick '{card.name}' or another listed model.")
    elif not HUB_ID.match(argument):
        raise InputError(f"'{argument[:100]}' is not a Hugging Face model id (owner/name); this deployment "
                         "loads no folders named by visitors.")
    elif not _public["hub_ids"]:
        raise InputError(f"This deployment runs only the models it lists, not '{card.name}:{argument[:100]}' "
                         "(its operator can let visitors name hub models with HARMONYLAB_VISITOR_HUB_MODELS=1).")


def parse_name(name: str) -> tuple[str, dict[str, Any]]:
    """``(registered name, options)`` of a model name, parameterised (``family:ARG[@REV]``) or not."""
    _load_families()
    if not isinstance(name, str) or not name.strip():
        raise InputError("No model was named; pick one (python -m backend models lists them).")
    name = name.strip()
    if name in _entries:
        return name, {}
    family, separator, argument = name.partition(":")
    entry = _entries.get(family) if separator else None
    if entry is None:
        known = ", ".join(sorted(_entries))
        forms = ", ".join(f"{e.card.name}:{e.card.argument_hint or 'ARG'}" for e in _entries.values() if e.card.argument)
        raise InputError(f"Unknown model '{name}'. Known models: {known}; parameterised forms: {forms}.")
    card = entry.card
    if card.argument is None:
        raise InputError(f"'{family}' takes no argument after ':'; write '{family}' alone.")
    options: dict[str, Any] = {}
    if "@" in argument and "revision" in entry.options:
        argument, _, revision = argument.rpartition("@")
        if not revision:
            raise InputError(f"'{name}' has an empty revision after '@'; write {family}:{card.argument_hint}.")
        options["revision"] = revision
    if not argument:
        raise InputError(f"'{name}' names no {card.argument}; write {family}:{card.argument_hint or 'ARG'}.")
    _check_public_argument(card, argument)
    options[card.argument] = argument
    return family, options


def _entry(name: str) -> _Entry:
    family, _ = parse_name(name)
    return _entries[family]


def list_models(task: str | tuple[str, ...] | None = None) -> list[ModelCard]:
    """Cards of the registered models, optionally of one task (or several), in listing order."""
    _load_families()
    tasks = (task,) if isinstance(task, str) else task
    if tasks is not None:
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise InputError(f"Unknown task '{unknown[0]}'. Tasks are: {', '.join(TASKS)}.")
    return [e.card for e in _entries.values() if tasks is None or e.card.task in tasks]


def card(name: str) -> ModelCard:
    """The card of ``name``; a parameterised name gets its family's card under the full name."""
    family, _ = parse_name(name)
    found = _entries[family].card
    return found if family == name.strip() else replace(found, name=name.strip())


def options(name: str) -> tuple[str, ...]:
    """The options ``create(name, ...)`` accepts (the factory's keyword parameters)."""
    return _entry(name).options


def _default_status(model_card: ModelCard) -> Status:
    missing = [f for f in model_card.shipped_weights if not (ASSETS_DIR / f).exists()]
    if missing:
        return Status("unavailable", f"shipped weights missing from assets/: {', '.join(missing)}")
    if model_card.hub_weights is not None:
        return hub_status(model_card.hub_weights)
    return Status("ready")


def status(name: str) -> Status:
    entry = _entry(name)
    check = entry.check or _default_status
    try:
        return check(entry.card)
    except Exception as error:  # noqa: BLE001 - a status check must never take the app down
        return Status("unavailable", f"status check failed: {error}")


def _options_key(name: str, given: dict[str, Any]) -> tuple:
    def freeze(value: Any) -> Any:
        if isinstance(value, dict):
            return tuple(sorted((k, freeze(v)) for k, v in value.items()))
        if isinstance(value, (list, tuple)):
            return tuple(freeze(v) for v in value)
        return value

    return (name, freeze(given))


def create(name: str, **given: Any) -> Any:
    """Build (once) and return the model ``name`` with ``given`` options; thread-safe and cached.

    Raises :class:`InputError` for an unknown name or option, and :class:`ModelUnavailableError` naming
    what to download or install when the model cannot be built here.
    """
    family, parsed = parse_name(name)
    entry = _entries[family]
    merged = {**parsed, **given}
    if not entry.any_option:
        unknown = sorted(set(merged) - set(entry.options))
        if unknown:
            accepted = ", ".join(entry.options) or "none"
            raise InputError(f"'{family}' has no option {', '.join(unknown)}; its options: {accepted}.")
    key = _options_key(family, merged)
    cached = _cached(key)
    if cached is not None:
        return cached
    with _registry_lock:
        lock = _build_locks.setdefault(key, threading.Lock())
    with lock:
        cached = _cached(key)
        if cached is not None:
            return cached
        current = status(family)
        if current.state == "unavailable":
            raise ModelUnavailableError(f"Model '{family}' is not available here: {current.detail}.")
        # "needs download": the factory fetches the pinned files and raises ModelUnavailableError offline.
        instance = entry.factory(**merged)
        with _registry_lock:
            _instances[key] = instance
            while len(_instances) > MAX_CACHED_MODELS:
                dropped, _ = _instances.popitem(last=False)
                _build_locks.pop(dropped, None)
        return instance


def _cached(key: tuple) -> Any:
    """The built model for ``key`` (now the most recently used), or None."""
    with _registry_lock:
        instance = _instances.get(key)
        if instance is not None:
            _instances.move_to_end(key)
        return instance


def clear_cache() -> None:
    """Forget built models (tests, or to free memory)."""
    with _registry_lock:
        _instances.clear()
        _build_locks.clear()
