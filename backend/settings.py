"""HarmonyLab's settings: every environment variable the app reads, parsed and validated in one place.

:data:`VARIABLES` is the one list of variables (name, default, what it accepts, meaning); the README's
configuration table is generated from it (``python -m backend settings --markdown``) and a test keeps the
two equal. :func:`load` reads the environment once into a frozen :class:`Settings`; a bad value raises
:class:`SettingsError` naming the variable and what it accepts, so ``python app.py`` and the CLI stop at
start-up with that sentence instead of failing later or silently using a default. :func:`current` gives
the settings of this process (loaded on first use); the app, the database and the tabs receive them.

Secrets are never public defaults: without ``HARMONYLAB_BROWSER_SECRET`` the root key of the annotator ids
the server issues is generated once and kept in the database (:mod:`backend.store.secrets`), so it survives
restarts and is shared by every replica of one database (:mod:`backend.store.annotators` derives the
signing keys from it; the value itself is never sent to a browser).

Only these modules read ``os.environ``: this one, and test fixtures. (Libraries we use read their own
variables too -- ``HF_HUB_OFFLINE`` by ``huggingface_hub``, ``GRADIO_*`` by Gradio, ``TORCH_HOME`` by torch;
:func:`torch_hub_dir` reads torch's here so that a caller need not import torch to learn it.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from backend.errors import InputError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")
SQLITE_SYNCHRONOUS_MODES = ("NORMAL", "FULL", "EXTRA")
UPLOAD_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
MEDIA_STORES = ("folder", "database")  # where campaign and prompt images live (backend.store.media)


class SettingsError(InputError):
    """An environment variable has a value HarmonyLab cannot use (the message names it and what it accepts)."""


# ------------------------------------------------------------------------------------------- parsers


def _text(raw: str) -> str | None:
    return raw.strip() or None


def _flag(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError


def _positive_int(raw: str) -> int:
    value = int(float(raw.strip())) if "e" in raw.lower() else int(raw.strip())
    if value < 1:
        raise ValueError
    return value


def _whole_number_from(raw: str, lowest: int) -> int:
    value = _positive_int(raw)
    if value < lowest:
        raise ValueError
    return value


def _port(raw: str) -> int:
    value = int(raw.strip())
    if not 1 <= value <= 65535:
        raise ValueError
    return value


def _limit_or_none(raw: str) -> int | None:
    word = raw.strip().lower()
    if word in ("none", "0", "unlimited"):
        return None
    return _positive_int(word)


def _upload_size(raw: str) -> str:
    """Gradio's ``max_file_size`` text: a number of bytes with an optional unit (``100mb``)."""
    word = raw.strip().lower().replace(" ", "")
    number = word.rstrip("kmgb")
    unit = word[len(number):] or "b"
    if unit not in UPLOAD_UNITS or not number or float(number) <= 0:
        raise ValueError
    return word


def _byte_size(raw: str) -> int:
    """A number of bytes with an optional unit (``64mb``), as an int."""
    word = _upload_size(raw)
    number = word.rstrip("kmgb")
    return int(float(number) * UPLOAD_UNITS[word[len(number):] or "b"])


def _sqlite_synchronous(raw: str) -> str:
    mode = raw.strip().upper()
    if mode not in SQLITE_SYNCHRONOUS_MODES:
        raise ValueError
    return mode


def _device(raw: str) -> str | None:
    word = raw.strip().lower()
    if not word:
        return None
    if word not in ("cpu", "cuda", "mps") and not (word.startswith("cuda:") and word[5:].isdigit()):
        raise ValueError
    return word


def _classical_implementation(raw: str) -> str:
    word = raw.strip().lower() or "fast"
    if word not in ("fast", "pyiqa"):
        raise ValueError
    return word


def _database_url(raw: str) -> str | None:
    url = raw.strip()
    if not url:
        return None
    from sqlalchemy.engine import make_url

    make_url(url)  # raises on a malformed URL
    return url


def _media(raw: str) -> str | None:
    word = raw.strip().lower()
    if word in ("", "auto"):
        return None
    if word not in MEDIA_STORES:
        raise ValueError
    return word


def _path(raw: str) -> Path | None:
    return Path(raw.strip()).expanduser() if raw.strip() else None


def _secret(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if len(value) < 16:
        raise ValueError
    return value


# ------------------------------------------------------------------------------------------ variables


@dataclass(frozen=True)
class Variable:
    """One environment variable: the settings field it fills, its default, and what it accepts."""

    env: str
    field: str
    default: str  # the raw text used when the variable is unset (parsed like a given value)
    accepts: str  # shown in error messages
    meaning: str  # the README's description
    parse: Callable[[str], Any]
    default_text: str | None = None  # the README's default column when the raw default is not telling


VARIABLES: tuple[Variable, ...] = (
    Variable("GRADIO_SERVER_NAME", "server_name", "127.0.0.1", "a host name or address",
             "address the app listens on (`0.0.0.0` in Docker and on Spaces)", lambda raw: raw.strip() or "127.0.0.1"),
    Variable("GRADIO_SERVER_PORT", "server_port", "7860", "a port number 1-65535", "port of the app", _port),
    Variable("HARMONYLAB_DATA_DIR", "data_dir", "data", "a folder path",
             "where the SQLite database, the images of the folder media store and the local image cache live (resolved "
             "against the working directory)",
             lambda raw: Path(raw.strip() or "data").expanduser().resolve(), "`data/`"),
    Variable("HARMONYLAB_DATABASE_URL", "database_url", "", "an SQLAlchemy URL such as postgresql+psycopg://user@host/db",
             "the annotation database, e.g. `postgresql+psycopg://user@host/db`", _database_url,
             "SQLite file `harmonylab.db` in the data dir"),
    Variable("HARMONYLAB_MEDIA", "media", "", "folder, database or auto",
             "where campaign and prompt images are stored: `folder` (`<data dir>/images`) or `database` (rows of the "
             "annotation database, so they live as long as it does); images in the other store stay readable "
             "(`python -m backend media migrate` moves them)", _media,
             "`database` when the database URL names a server, else `folder`"),
    Variable("HARMONYLAB_MEDIA_CACHE", "media_cache", "1gb", "a size such as 1gb or 500mb",
             "local copies of database-stored images for code that needs files (models vs people, PromptIQA, "
             "HarmonyIQA training), in `<data dir>/cache/images`; least recently used removed first", _byte_size),
    Variable("HARMONYLAB_DB_POOL_SIZE", "db_pool_size", "10", "a whole number of connections, at least 1",
             "database connections kept per process (as many again on overflow)", _positive_int),
    Variable("HARMONYLAB_SQLITE_SYNCHRONOUS", "sqlite_synchronous", "FULL", "FULL, NORMAL or EXTRA",
             "SQLite durability (`NORMAL` survives a killed process but not a power cut)", _sqlite_synchronous),
    Variable("HARMONYLAB_MAX_PIXELS", "max_pixels", "40000000", "a whole number of pixels, at least 1",
             "largest accepted image (width x height), checked before decoding (also Pillow's own limit for the whole process)",
             _positive_int),
    Variable("HARMONYLAB_WORKING_PIXELS", "working_pixels", "4000000", "a whole number of pixels, at least 65536",
             "the page scores and harmonizes images above this size (width x height) at this size instead, and says so "
             "(harmonized results are carried back to the full size)", lambda raw: _whole_number_from(raw, 65536)),
    Variable("HARMONYLAB_MAX_UPLOAD", "max_upload", "100mb", "a size such as 100mb, 2gb or 500kb",
             "largest upload the web server accepts", _upload_size),
    Variable("HARMONYLAB_PROMPT_MAX_PAIRS", "prompt_max_pairs", "50", "a whole number of pairs, at least 2",
             "most image-score pairs in a PromptIQA prompt built, sampled, scored or saved from the page",
             lambda raw: _whole_number_from(raw, 2)),
    Variable("HARMONYLAB_PROMPT_MAX_BYTES", "prompt_max_bytes", "64mb", "a size such as 64mb or 500kb",
             "most stored image bytes (PNG) of one prompt saved from the page", _byte_size),
    Variable("HARMONYLAB_PROMPTS_PER_OWNER", "prompts_per_owner", "20", "a whole number, at least 1",
             "saved prompts one visitor (browser id or Hugging Face login) may keep", _positive_int),
    Variable("HARMONYLAB_PROMPT_STORAGE", "prompt_storage", "2gb", "a size such as 2gb or 500mb",
             "stored image bytes of all prompts saved from the page together (the command line is not counted)",
             _byte_size),
    Variable("HARMONYLAB_DEVICE", "device", "", "cpu, cuda, cuda:N or mps",
             "torch device for models", _device, "`cuda` if present, else `cpu`"),
    Variable("HARMONYLAB_CONCURRENCY", "concurrency", "4", "a whole number, at least 1",
             "events of the page (scoring, harmonizing) that run at once", _positive_int),
    Variable("HARMONYLAB_ANNOTATE_QUEUE", "annotate_queue", "0", "1/true/yes/on or 0/false/no/off",
             "put the annotation API endpoints through Gradio's queue", _flag, "off"),
    Variable("HARMONYLAB_ANNOTATE_CONCURRENCY", "annotate_concurrency", "8", "a whole number, or none for no limit",
             "concurrency of the Annotate page's answer buttons", _limit_or_none),
    Variable("HARMONYLAB_ANNOTATOR_ANSWERS_PER_MINUTE", "annotator_answers_per_minute", "60",
             "a whole number, or none for no limit",
             "answers one annotator may send per minute (pairs/images served: twice as many); per app process, "
             "bursts of 10 s worth pass", _limit_or_none),
    Variable("HARMONYLAB_CAMPAIGN_ANSWERS_PER_MINUTE", "campaign_answers_per_minute", "6000",
             "a whole number, or none for no limit",
             "answers all annotators of one campaign may send per minute (served: twice as many); per app process",
             _limit_or_none),
    Variable("HARMONYLAB_NEW_ANNOTATORS_PER_MINUTE", "new_annotators_per_minute", "300",
             "a whole number, or none for no limit",
             "new annotator ids one app process issues per minute (page visitors, `POST /annotate/v1/annotators`)",
             _limit_or_none),
    Variable("HARMONYLAB_ADMIN_PASSWORD", "admin_password", "", "any text",
             "enables the Annotate tab's admin section (campaign upload, export); without it the section is disabled",
             _text, "— (admin section disabled)"),
    Variable("HARMONYLAB_BROWSER_SECRET", "browser_secret", "", "at least 16 characters",
             "root key of the annotator ids the server issues (page visitors, API clients); without it a random key "
             "is generated once and kept in the database (shared by replicas, kept across restarts)", _secret,
             "generated once, kept in the database"),
    Variable("HARMONYLAB_PHOTO_ROOT", "photo_root", "", "a folder path",
             "a folder holding the Debian photo packages' `share` tree instead of `/usr/share`, for the data builders", _path,
             "— (`/usr/share`)"),
    Variable("HARMONYLAB_NIQE_PARAMS", "niqe_params", "", "a file path", "local NIQE parameter file", _path, "—"),
    Variable("HARMONYLAB_BRISQUE_PARAMS", "brisque_params", "", "a file path", "local BRISQUE parameter file", _path, "—"),
    Variable("HARMONYLAB_SAM2_PATH", "sam2_path", "", "a folder path", "local copy of SAM 2.1 hiera-tiny", _path, "—"),
    Variable("HARMONYLAB_PROMPTIQA_CHECKPOINT", "promptiqa_checkpoint", "", "a file path",
             "local copy of the authors' PromptIQA ViT-B/8 checkpoint", _path, "—"),
    Variable("HARMONYLAB_C2S_LOCAL", "c2s_local", "", "a folder path",
             "local copy of the authors' Compare2Score VLM (`q-future/Compare2Score`)", _path, "—"),
    Variable("HARMONYLAB_C2S_REVISION", "c2s_revision", "", "a hub revision (commit or branch)",
             "revision of `q-future/Compare2Score` to download", _text, "`main`"),
    Variable("HARMONYLAB_SRH_FULL_WEIGHTS", "srh_full_weights", "", "a file path",
             "GPU-trained weights of the full-size harmonizer `srh-full`", _path, "—"),
    Variable("HARMONYLAB_DOGIQA_VLM", "dogiqa_vlm", "", "a folder path",
             "local copy of Dog-IQA's default VLM (Qwen2-VL-2B-Instruct)", _path, "—"),
    Variable("HARMONYLAB_HARMONYIQA_BASE", "harmonyiqa_base", "", "a folder path",
             "local copy of the HarmonyIQA VLM's base model", _path, "—"),
    Variable("HARMONYLAB_HARMONYIQA_VLM_NR", "harmonyiqa_vlm_nr", "", "a folder path",
             "trained HarmonyIQA VLM (no-reference) folder", _path, "`<data dir>/harmonyiqa/vlm-nr`"),
    Variable("HARMONYLAB_HARMONYIQA_VLM_FR", "harmonyiqa_vlm_fr", "", "a folder path",
             "trained HarmonyIQA VLM (full-reference) folder", _path, "`<data dir>/harmonyiqa/vlm-fr`"),
    Variable("HARMONYLAB_CLASSICAL_IMPLEMENTATION", "classical_implementation", "fast", "fast or pyiqa",
             "who computes the classical metrics that have a fast version: our vectorised code (equal to pyiqa "
             "within 1e-4, several times faster on a CPU) or pyiqa itself", _classical_implementation),
    Variable("HARMONYLAB_VISITOR_HUB_MODELS", "visitor_hub_models", "0", "1/true/yes/on or 0/false/no/off",
             "let visitors of the app name any hub model (`vlm:OWNER/NAME`, `dogiqa-vlm:OWNER/NAME`), which the app "
             "then downloads; off: the app runs only the models it lists (the command line is not limited)", _flag,
             "off"),
    Variable("HF_HUB_OFFLINE", "hub_offline", "0", "1/true/yes/on or 0/false/no/off",
             "never try the Hugging Face hub (models that need a download say so at once)", _flag, "off"),
    Variable("HF_ENDPOINT", "hub_endpoint", "https://huggingface.co", "a URL",
             "the Hugging Face hub to download from", lambda raw: raw.strip() or "https://huggingface.co"),
    Variable("SPACE_ID", "space_id", "", "set by Hugging Face Spaces",
             "set on a Space: the Annotate tab offers the Hugging Face login", _text, "— (set by Spaces)"),
)
BY_ENV: dict[str, Variable] = {variable.env: variable for variable in VARIABLES}


@dataclass(frozen=True)
class Settings:
    """Every setting of one process, parsed (see :data:`VARIABLES` for the variables behind the fields)."""

    server_name: str
    server_port: int
    data_dir: Path
    database_url: str | None
    media: str | None
    media_cache: int
    db_pool_size: int
    sqlite_synchronous: str
    max_pixels: int
    working_pixels: int
    max_upload: str
    prompt_max_pairs: int
    prompt_max_bytes: int
    prompts_per_owner: int
    prompt_storage: int
    device: str | None
    concurrency: int
    annotate_queue: bool
    annotate_concurrency: int | None
    annotator_answers_per_minute: int | None
    campaign_answers_per_minute: int | None
    new_annotators_per_minute: int | None
    admin_password: str | None
    browser_secret: str | None
    photo_root: Path | None
    niqe_params: Path | None
    brisque_params: Path | None
    sam2_path: Path | None
    promptiqa_checkpoint: Path | None
    c2s_local: Path | None
    c2s_revision: str | None
    srh_full_weights: Path | None
    dogiqa_vlm: Path | None
    harmonyiqa_base: Path | None
    harmonyiqa_vlm_nr: Path | None
    harmonyiqa_vlm_fr: Path | None
    hub_offline: bool
    classical_implementation: str
    visitor_hub_models: bool
    hub_endpoint: str
    space_id: str | None

    @property
    def on_spaces(self) -> bool:
        return self.space_id is not None

    def value(self, env: str) -> Any:
        """The parsed value of the variable named ``env`` (e.g. a model card's local-weights variable)."""
        if env not in BY_ENV:
            raise KeyError(f"{env} is not a HarmonyLab setting")
        return getattr(self, BY_ENV[env].field)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests, and tools that run against another folder)."""
        from dataclasses import replace

        return replace(self, **changes)


def parse(environ: Mapping[str, str]) -> Settings:
    """Settings from an environment mapping; raises :class:`SettingsError` on the first bad value."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        raw = environ.get(variable.env)
        text = variable.default if raw is None else raw
        try:
            values[variable.field] = variable.parse(text)
        except Exception as error:  # noqa: BLE001 - every parser failure becomes one sentence
            raise SettingsError(f"{variable.env}={raw!r} is not usable: it accepts {variable.accepts}.") from error
    return Settings(**values)


_current: Settings | None = None
_lock = threading.Lock()


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment (``os.environ`` by default) and make the result this process's settings."""
    global _current
    settings = parse(os.environ if environ is None else environ)
    with _lock:
        _current = settings
    return settings


def current() -> Settings:
    """This process's settings, read from the environment on first use."""
    settings = _current
    return settings if settings is not None else load()


def use(settings: Settings) -> Settings:
    """Make ``settings`` this process's settings (tests; tools that serve another data folder)."""
    global _current
    with _lock:
        _current = settings
    return settings


def markdown_table() -> str:
    """The README's configuration table (one row per variable)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for variable in VARIABLES:
        default = variable.default_text or (f"`{variable.default}`" if variable.default else "—")
        lines.append(f"| `{variable.env}` | {default} | {variable.meaning} |")
    return "\n".join(lines)


def torch_hub_dir() -> Path:
    """``torch.hub.get_dir()`` without importing torch (seconds at start-up): ``$TORCH_HOME/hub``, else
    ``$XDG_CACHE_HOME/torch/hub``, else ``~/.cache/torch/hub``, as torch works it out (a folder set with
    ``torch.hub.set_dir`` is not seen: ask torch itself once it is loaded)."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.path.expanduser(os.environ.get("TORCH_HOME") or os.path.join(cache_home, "torch"))) / "hub"


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Settings))
