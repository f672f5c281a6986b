"""PromptIQA services shared by the CLI, the tab and the API (paper 004 Sec. 3.2 A, Table 4 sampling).

* prompts from a CSV ``path,score`` (any numeric range; relative paths against the CSV's folder), from
  uploaded images with scores, or sampled (interval / random, n ISPs) from a scored CSV or an annotation
  campaign's MOS (``backend.campaign_scores``: MOS and the stored item images);
* file access (issue #20): given ``allowed_files`` (what the page and the API always pass: the files the
  caller uploaded), a CSV's ``path`` column is matched to those files by file name and nothing else is
  opened -- not even looked up, so a refusal reads the same whether or not a named server file exists --
  and messages name files by their names only. Without it (the command line: the operator owns the
  machine) paths are read as given;
* scoring images under a prompt with a registry PromptIQA model (``promptiqa`` by default);
* saved prompts in the store (``backend.store.prompts``): list, save, load, and score with one (what the
  Score tab offers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from backend import registry
from backend.campaign_scores import campaign_scores
from backend.data.scored_set import csv_file_name, read_csv_file, uploaded_file_names
from backend.errors import InputError
from backend.images import load_image
from backend.iqa.promptiqa.prompts import make_prompt, sample_indices
from backend.protocols import Prompt
from backend.store import prompts as saved_prompts

DEFAULT_MODEL = "promptiqa"
SCORE_COLUMNS = ("score", "mos")


def read_scored_csv(csv_path: str | Path, allowed_files: Sequence[str | Path] | None = None) -> pd.DataFrame:
    """A CSV with ``path`` (or ``image``) and ``score`` (or ``mos``) columns: ``path`` (absolute), ``score``,
    ``name`` (the file name shown).

    With ``allowed_files`` every row must name one of those files by file name (module docstring); the
    CSV may then have at most as many rows as there are files.
    """
    csv_path = Path(csv_path)
    uploads = uploaded_file_names(allowed_files) if allowed_files is not None else None
    table = read_csv_file(csv_path, "path,score", None if uploads is None else len(uploads) + 1)
    path_column = next((c for c in ("path", "image") if c in table.columns), None)
    score_column = next((c for c in SCORE_COLUMNS if c in table.columns), None)
    if path_column is None or score_column is None:
        found = ", ".join(str(c)[:40] for c in table.columns[:10])
        raise InputError(f"'{csv_path.name}' needs a 'path' and a 'score' column (found: {found}).")
    entries = [str(p) for p in table[path_column].astype(str)]
    if uploads is None:
        paths = [str(p if Path(p).is_absolute() else csv_path.parent / p) for p in entries]
        names = [Path(p).name for p in paths]
    else:
        if len(entries) > len(uploads):
            raise InputError(f"'{csv_path.name}' lists more rows than images were uploaded ({len(uploads)}); "
                             "upload every image the CSV names together with it.")
        names = [csv_file_name(entry) for entry in entries]
        missing = [name for name in names if name not in uploads]
        if missing:
            raise InputError(f"'{csv_path.name}' names {len(missing)} image(s) that were not uploaded with it, "
                             f"e.g. '{missing[0][:100]}'; upload every image the CSV names (matched by file name).")
        paths = [uploads[name] for name in names]
    scores = pd.to_numeric(table[score_column], errors="coerce")
    if scores.isna().any() and table[score_column].notna().all():
        row = int(np.flatnonzero(scores.isna())[0])
        raise InputError(f"'{csv_path.name}' row {row + 1} has the score {str(table[score_column][row])[:40]!r}; "
                         "give a number.")
    return pd.DataFrame({"path": paths, "score": scores.to_numpy(np.float64), "name": names})


def prompt_from_table(table: pd.DataFrame) -> Prompt:
    names = list(table["name"]) if "name" in table.columns else [Path(p).name for p in table["path"]]
    return make_prompt(list(table["path"]), list(table["score"]), names)


def prompt_from_csv(csv_path: str | Path, allowed_files: Sequence[str | Path] | None = None) -> Prompt:
    """Every row of a ``path,score`` CSV as the prompt (``allowed_files`` as in :func:`read_scored_csv`)."""
    return prompt_from_table(read_scored_csv(csv_path, allowed_files))


def sample_rows(table: pd.DataFrame, n: int, strategy: str = "interval", seed: int = 0) -> pd.DataFrame:
    """The n rows (ISPs, in prompt order) of a scored table (``path``, ``score``) chosen by interval or random
    sampling; rows without a finite score are never chosen."""
    scores = pd.to_numeric(table["score"], errors="coerce").to_numpy(np.float64)
    keep = np.isfinite(scores)
    table = pd.DataFrame(table)[keep].reset_index(drop=True)
    chosen = sample_indices(scores[keep], int(n), strategy, np.random.default_rng(seed))
    return table.iloc[chosen].reset_index(drop=True)


def campaign_table(name: str, db=None) -> pd.DataFrame:
    """A rating campaign's items as ``path`` (stored image file) and ``score`` (MOS after screening)."""
    table = campaign_scores(name, db, kind="rating").table
    if len(table) < 2:
        raise InputError(f"Campaign '{name}' has MOS for {len(table)} items; a prompt needs at least 2.")
    return pd.DataFrame({"path": table["image"], "score": table["human"], "item": table["item"],
                         "name": [f"{name}-item-{item}.png" for item in table["item"]]})


def scorer(model: str = DEFAULT_MODEL):
    card = registry.card(model)
    if not card.needs_prompt:
        raise InputError(f"'{model}' does not take a prompt; use promptiqa or promptiqa-vitb8.")
    return registry.create(model)


def score_sources(sources: Sequence, prompt: Prompt, model: str = DEFAULT_MODEL,
                  names: Sequence[str] | None = None) -> pd.DataFrame:
    """Score image sources (paths, arrays, uploads) under ``prompt``: table ``image, score``."""
    sources = list(sources)
    if not sources:
        raise InputError("No image to score was given; upload at least one image.")
    names = list(names) if names is not None else [Path(str(s)).name if isinstance(s, (str, Path)) else f"image_{k + 1}"
                                                   for k, s in enumerate(sources)]
    images = [load_image(source, name=f"image '{name}'") for source, name in zip(sources, names, strict=False)]
    scores = np.asarray(scorer(model).score_images(images, prompt, names=names), dtype=np.float64)
    if not np.all(np.isfinite(scores)):  # a result is never NaN (issue #20)
        raise InputError(f"'{model}' gave no finite score under this prompt; check the prompt's images and scores.")
    return pd.DataFrame({"image": names, "score": scores})


# ------------------------------------------------------------------------------------------ saved prompts


def save_prompt(name: str, prompt: Prompt, db=None, *, owner: str | None = None, admin: bool = False) -> dict:
    """Save ``prompt`` as ``name`` (``owner`` / ``admin``: see :func:`backend.store.prompts.save_prompt`)."""
    return saved_prompts.save_prompt(name, list(prompt.images), list(prompt.scores), list(prompt.names) or None,
                                     db=db, owner=owner, admin=admin)


def delete_saved_prompt(name: str, db=None, *, owner: str | None = None, admin: bool = False) -> bool:
    """Delete the saved prompt ``name`` (only its owner or the admin may, from the page)."""
    return saved_prompts.delete_prompt(name, db=db, owner=owner, admin=admin)


def list_saved_prompts(db=None) -> list[dict]:
    """Saved prompts: name, pairs, low, high, created (newest first) -- for pickers such as the Score tab."""
    return saved_prompts.list_prompts(db=db)


def score_with_saved_prompt(name: str, sources: Sequence, model: str = DEFAULT_MODEL, db=None,
                            names: Sequence[str] | None = None) -> pd.DataFrame:
    """Score images (paths, arrays or uploads) under the saved prompt ``name``: table ``image, score``."""
    return score_sources(sources, saved_prompts.load_prompt(name, db=db), model, names)


ProgressFn = Callable[[float, str], None]
