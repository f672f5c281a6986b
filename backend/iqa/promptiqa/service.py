"""PromptIQA services shared by the CLI, the tab and the API (paper 004 Sec. 3.2 A, Table 4 sampling).

* prompts from a CSV ``path,score`` (any numeric range; relative paths against the CSV's folder), from
  uploaded images with scores, or sampled (interval / random, n ISPs) from a scored CSV or an annotation
  campaign's MOS (``backend.campaign_scores``: MOS and the stored item images);
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
from backend.data.scored_set import read_csv_file
from backend.errors import InputError
from backend.images import load_image
from backend.iqa.promptiqa.prompts import make_prompt, sample_indices
from backend.protocols import Prompt
from backend.store import prompts as saved_prompts

DEFAULT_MODEL = "promptiqa"
SCORE_COLUMNS = ("score", "mos")


def read_scored_csv(csv_path: str | Path) -> pd.DataFrame:
    """A CSV with ``path`` (or ``image``) and ``score`` (or ``mos``) columns; paths made absolute."""
    csv_path = Path(csv_path)
    table = read_csv_file(csv_path, "path,score")
    path_column = next((c for c in ("path", "image") if c in table.columns), None)
    score_column = next((c for c in SCORE_COLUMNS if c in table.columns), None)
    if path_column is None or score_column is None:
        raise InputError(f"'{csv_path.name}' needs a 'path' and a 'score' column (found: {', '.join(map(str, table.columns))}).")
    paths = [str(p if Path(p).is_absolute() else csv_path.parent / p) for p in table[path_column].astype(str)]
    scores = pd.to_numeric(table[score_column], errors="coerce")
    if scores.isna().any() and table[score_column].notna().all():
        row = int(np.flatnonzero(scores.isna())[0])
        raise InputError(f"'{csv_path.name}' row {row + 1} has the score {table[score_column][row]!r}; give a number.")
    return pd.DataFrame({"path": paths, "score": scores.to_numpy(np.float64)})


def prompt_from_table(table: pd.DataFrame) -> Prompt:
    return make_prompt(list(table["path"]), list(table["score"]), [Path(p).name for p in table["path"]])


def prompt_from_csv(csv_path: str | Path) -> Prompt:
    """Every row of a ``path,score`` CSV as the prompt."""
    return prompt_from_table(read_scored_csv(csv_path))


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
    return pd.DataFrame({"path": table["image"], "score": table["human"], "item": table["item"]})


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
    scores = scorer(model).score_images(images, prompt)
    return pd.DataFrame({"image": names, "score": scores})


# ------------------------------------------------------------------------------------------ saved prompts


def save_prompt(name: str, prompt: Prompt, db=None) -> dict:
    return saved_prompts.save_prompt(name, list(prompt.images), list(prompt.scores), list(prompt.names) or None, db=db)


def list_saved_prompts(db=None) -> list[dict]:
    """Saved prompts: name, pairs, low, high, created (newest first) -- for pickers such as the Score tab."""
    return saved_prompts.list_prompts(db=db)


def score_with_saved_prompt(name: str, sources: Sequence, model: str = DEFAULT_MODEL, db=None,
                            names: Sequence[str] | None = None) -> pd.DataFrame:
    """Score images (paths, arrays or uploads) under the saved prompt ``name``: table ``image, score``."""
    return score_sources(sources, saved_prompts.load_prompt(name, db=db), model, names)


ProgressFn = Callable[[float, str], None]
