"""One way to keep weights: trained here (safetensors + JSON card) or pinned on the Hugging Face hub.

Trained weights (every network this project trains: ``srh-tiny``, HarmonyIQA-lite, the Compare2Score
siamese comparator, PromptIQA):

* ``<name>.safetensors`` holds the tensors and, in its metadata, ``config`` (the JSON of the network's
  frozen config) and ``network`` (the class that reads it);
* ``<name>.json`` beside it is the card: data (photos and sources), command, measured quality.

:func:`save` writes both; :func:`load` rebuilds ``network_class(config)`` from the metadata and loads the
tensors strictly. A network class is a module-level ``torch.nn.Module`` whose ``__init__`` takes one
frozen config (a :class:`Config` dataclass) and that names it in ``config_class`` (the pattern of
``backend/harmonization/network.py``); its module is imported lazily by the registration that uses it.

Hub weights (:class:`HubWeights`): a repository at a pinned revision, the files that prove it is cached,
its size, and the settings variable that names a local copy. :func:`hub_status` says whether it is here,
:func:`hub_file` returns one file of it (local copy, hub cache, or a download when the hub answers) and
:func:`hub_source` the folder or repo id to give ``from_pretrained``; offline they raise
:class:`~backend.errors.ModelUnavailableError` naming what to download and the variable to set.

This module stays light to import (the registry imports it): torch and safetensors load inside the calls.
"""

from __future__ import annotations

import json
import socket
import types
import typing
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from backend import settings
from backend.errors import ModelUnavailableError

CARD_SUFFIX = ".json"
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"  # weights and data shipped in the repository


# --------------------------------------------------------------------------------------- trained here


@dataclass(frozen=True)
class Config:
    """Base of the frozen network configs: a JSON round trip (:meth:`as_dict` / :meth:`from_dict`).

    ``from_dict`` restores tuples from lists and rebuilds nested configs: a field annotated with a
    :class:`Config` class holds that config; a field annotated with a union of config classes holds one of
    them, told apart by their ``kind`` field (``field(default="name", init=False)``, so it is written to
    the JSON but never passed in). Unknown keys are ignored, missing ones take the defaults.
    """

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        hints = typing.get_type_hints(cls)
        known = {}
        for spec in fields(cls):
            if spec.init and spec.name in values:
                known[spec.name] = _restore(hints.get(spec.name, Any), values[spec.name], f"{cls.__name__}.{spec.name}")
        return cls(**known)


def _union_members(hint) -> tuple:
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)


def _kind(config_class: type[Config]) -> Any:
    spec = {spec.name: spec for spec in fields(config_class)}.get("kind")
    return None if spec is None else spec.default


def _restore(hint, value: Any, where: str) -> Any:
    """A JSON value as the annotated type wants it: nested configs rebuilt, lists made tuples."""
    members = _union_members(hint)
    if isinstance(value, dict):
        classes = [m for m in members if isinstance(m, type) and issubclass(m, Config)]
        if len(classes) == 1:
            return classes[0].from_dict(value)
        if classes:
            by_kind = {_kind(c): c for c in classes}
            if value.get("kind") not in by_kind:
                raise ValueError(f"{where}: kind {value.get('kind')!r} is none of "
                                 f"{', '.join(str(k) for k in by_kind)}.")
            return by_kind[value["kind"]].from_dict(value)
    if isinstance(value, list):
        tuples = [m for m in members if m is tuple or typing.get_origin(m) is tuple]
        if tuples:
            arguments = typing.get_args(tuples[0])
            item = arguments[0] if len(arguments) == 2 and arguments[1] is Ellipsis else Any
            if len(arguments) == len(value) and Ellipsis not in arguments:
                return tuple(_restore(a, v, where) for a, v in zip(arguments, value, strict=True))
            return tuple(_restore(item, v, where) for v in value)
    return value


def card_path(weights: str | Path) -> Path:
    """The JSON card beside a weights file."""
    return Path(weights).with_suffix(CARD_SUFFIX)


def read_card(weights: str | Path) -> dict[str, Any]:
    """The card beside ``weights`` (an empty dict when there is none)."""
    path = card_path(weights)
    return json.loads(path.read_text()) if path.is_file() else {}


def write_card(weights: str | Path, card: dict[str, Any]) -> Path:
    path = card_path(weights)
    path.write_text(json.dumps(card, indent=2, default=float) + "\n")
    return path


def read_metadata(weights: str | Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as handle:
        return dict(handle.metadata() or {})


def save(weights: str | Path, network, card: dict[str, Any] | None = None) -> Path:
    """Write ``network``'s tensors with its config in the metadata, and ``card`` beside them."""
    from safetensors.torch import save_file

    path = Path(weights)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = network.config
    tensors = {name: value.detach().cpu().contiguous() for name, value in network.state_dict().items()}
    metadata = {"config": json.dumps(config.as_dict()), "network": type(network).__name__}
    save_file(tensors, str(path), metadata=metadata)
    if card is not None:
        write_card(path, card)
    return path


def load(weights: str | Path, network_class, *, what: str, train_hint: str, device: str | None = None):
    """``(network in eval mode, card)`` from a file written by :func:`save`.

    ``what`` names the weights in messages and ``train_hint`` says how to make them (a command), e.g.
    ``"python -m backend harmonization train"``.
    """
    from safetensors.torch import load_file

    path = Path(weights)
    if not path.is_file():
        raise ModelUnavailableError(f"The {what} weights '{path}' are missing; train them with `{train_hint}`.")
    metadata = read_metadata(path)
    if "config" not in metadata:
        raise ModelUnavailableError(f"'{path.name}' is not a {what} weights file (no config in its metadata); "
                                    f"train one with `{train_hint}`.")
    stored_class = metadata.get("network")
    if stored_class is not None and stored_class != network_class.__name__:
        raise ModelUnavailableError(f"'{path.name}' holds a {stored_class}, not a {network_class.__name__} "
                                    f"({what}); train one with `{train_hint}`.")
    config = network_class.config_class.from_dict(json.loads(metadata["config"]))
    network = network_class(config)
    network.load_state_dict(load_file(str(path)))
    if device is not None:
        network.to(device)
    return network.eval(), read_card(path)


# -------------------------------------------------------------------------------------------- the hub


@dataclass(frozen=True)
class HubWeights:
    """Weights from the Hugging Face hub at a pinned revision, or a local copy named by a settings variable."""

    repo: str
    revision: str
    size: str = "unknown size"
    files: tuple[str, ...] = ()
    local_env: str | None = None  # the settings variable (backend.settings) naming a local copy

    def describe(self) -> str:
        return f"{self.repo}@{self.revision[:12]}, {self.size}"

    def local_copy(self) -> Path | None:
        """The local copy named by the settings, if the variable is set."""
        if self.local_env is None:
            return None
        return settings.current().value(self.local_env)


@dataclass(frozen=True)
class Status:
    """Whether a model can be built here: ``ready``, ``needs download`` or ``unavailable``, with details."""

    state: str  # "ready" | "needs download" | "unavailable"
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def __str__(self) -> str:
        return self.state if not self.detail else f"{self.state} ({self.detail})"


def hub_status(weights: HubWeights) -> Status:
    """``ready`` when a local copy or the hub cache holds the pinned files, else ``needs download``."""
    local = weights.local_copy()
    if local is not None:
        if local.exists():
            return Status("ready", f"local copy {local}")
        return Status("unavailable", f"{weights.local_env}={local} does not exist")
    from huggingface_hub import try_to_load_from_cache

    for filename in weights.files or ("config.json",):
        cached = try_to_load_from_cache(weights.repo, filename, revision=weights.revision)
        if not isinstance(cached, str):
            return Status("needs download", weights.describe())
    return Status("ready", "hub cache")


def hub_reachable(timeout: float = 3.0) -> bool:
    """False when downloads cannot work: ``HF_HUB_OFFLINE`` set, or the hub host does not answer quickly.

    Checked before a download so an offline machine gets a clear message at once instead of the hub
    client's retries.
    """
    current = settings.current()
    if current.hub_offline:
        return False
    host = urlparse(current.hub_endpoint).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _offline_error(weights: HubWeights, what: str, reason: str) -> ModelUnavailableError:
    hint = f" and set {weights.local_env} to its path" if weights.local_env else ""
    return ModelUnavailableError(f"{what} ({weights.describe()}) could not be downloaded here ({reason}); download "
                                 f"it on a connected machine{hint}.")


def hub_file(weights: HubWeights, filename: str, *, what: str) -> Path:
    """One file of ``weights``: the local copy (a file, or a folder holding ``filename``), the hub cache,
    or a download at the pinned revision when the hub answers."""
    local = weights.local_copy()
    if local is not None:
        path = local / filename if local.is_dir() else local
        if not path.is_file():
            raise ModelUnavailableError(f"{weights.local_env}={local} does not hold {filename}; point it at {what}.")
        return path
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    cached = try_to_load_from_cache(weights.repo, filename, revision=weights.revision)
    if isinstance(cached, str):
        return Path(cached)
    if not hub_reachable():
        raise _offline_error(weights, what, "the hub is not reachable")
    try:
        return Path(hf_hub_download(weights.repo, filename, revision=weights.revision))
    except Exception as error:  # noqa: BLE001 - hub errors of every kind become one sentence
        raise _offline_error(weights, what, type(error).__name__) from error


def hub_source(weights: HubWeights) -> tuple[str, str | None, bool]:
    """``(path or repo id, revision, local_files_only)`` to give a ``from_pretrained`` call."""
    local = weights.local_copy()
    if local is not None:
        if not local.exists():
            raise ModelUnavailableError(f"{weights.local_env}={local} does not exist; point it at a local copy of "
                                        f"{weights.repo}.")
        return str(local), None, True
    return weights.repo, weights.revision, not hub_reachable()
