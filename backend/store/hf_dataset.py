"""A campaign as a Hugging Face dataset folder (backup and hand-off): ``campaign export --format hf-dataset``.

The folder is what a dataset repository on the hub holds, loadable offline with the ``datasets`` library:

- ``items/items-NNNNN.parquet`` -- one row per item (the images judged): ``item`` (``group/method``, the
  label answers use), ``group``, ``method``, ``gold``, ``source_path`` (the manifest's path), the
  ``image`` and, when the campaign has them, its ``composite`` and ``reference`` as ``datasets.Image``
  features holding the stored PNG bytes unchanged (so their SHA-256 equals the ``*_sha256`` columns and
  the image URLs of the app), in files of at most about ``SHARD_BYTES``;
- ``votes/votes-00000.parquet`` (pairwise) or ``ratings/ratings-00000.parquet`` (rating) -- one row per answer,
  the columns of the raw export (:mod:`backend.store.export`) with the annotator replaced by the
  campaign's pseudonym (:func:`backend.store.annotators.pseudonym`: stable within the campaign, unlinkable
  across campaigns, not reversible without the campaign's secret) and without the client-chosen answer
  ids; answers join items on ``left_item``/``right_item`` (pairwise) or ``item`` (rating), or on the
  ``*_sha256`` columns;
- ``README.md`` -- a dataset card whose YAML names the two configurations, so
  ``datasets.load_dataset(DIR, "votes")`` / ``load_dataset(DIR, "items")`` work on the folder (and on the
  hub repository), as does ``load_dataset("parquet", data_files=f"{DIR}/votes/*.parquet")``.

Files are written with pyarrow under the schema ``datasets.Features`` gives (its ``huggingface`` metadata
says which columns are images), items streamed from the media store a shard at a time, so memory stays
bounded by the shard size; each file is written under a temporary name and renamed.

:func:`push_to_hub` uploads such a folder to a dataset repository with ``huggingface_hub`` (created private
unless asked otherwise). It needs the hub: offline (``HF_HUB_OFFLINE``) or on a network error it says so in
one sentence, and the folder stays complete for a later upload.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from backend import settings
from backend.errors import InputError
from backend.store.annotators import pseudonym
from backend.store.campaigns import get_campaign
from backend.store.db import Database, default_database
from backend.store.export import answers_table

SHARD_BYTES = 256 * 1024 * 1024
CLIENT_ID_COLUMNS = ("client_vote_id", "client_rating_id")
CARD = """---
configs:
- config_name: {answers}
  data_files:
  - split: train
    path: {answers}/*.parquet
  default: true
- config_name: items
  data_files:
  - split: train
    path: items/*.parquet
tags:
- image-harmonization
- image-quality-assessment
- human-judgments
---

# {name}

Human judgments exported from HarmonyLab: a {kind} campaign with {items} items (images) and {answers_count}
{answers}. Annotators are pseudonyms, stable within this campaign only.

```python
from datasets import load_dataset

where = "{where}"  # this folder, or OWNER/NAME on the hub
{answers} = load_dataset(where, "{answers}", split="train")
items = load_dataset(where, "items", split="train")   # item, group, method, image, composite, reference
```

{explanation}
"""
EXPLANATION = {
    "pairwise": "Each vote row names the two items shown (`left_item`, `right_item`, as `group/method`), the "
                "choice (`left`, `right` or `tie`) and the winner's method; gold rows (`gold`) are known-answer "
                "checks and `annotator_flagged` marks annotators excluded from aggregation. Scale per method "
                "with Bradley-Terry or Thurstone (`python -m backend scale --votes ...`).",
    "rating": "Each rating row names the item (`group/method`) and its score from 1 (bad) to 5 (excellent); gold "
              "rows (`gold`) are known-answer checks and `annotator_flagged` marks annotators excluded from "
              "aggregation. MOS per item: `python -m backend mos --ratings ...`.",
}


def _features(with_composite: bool, with_reference: bool):
    from datasets import Features, Image, Value

    columns = {"item": Value("string"), "group": Value("string"), "method": Value("string"), "gold": Value("bool"),
               "source_path": Value("string"), "image": Image(), "image_sha256": Value("string")}
    if with_composite:
        columns |= {"composite": Image(), "composite_sha256": Value("string")}
    if with_reference:
        columns |= {"reference": Image(), "reference_sha256": Value("string")}
    return Features(columns)


def _write_table(table, path: Path) -> None:
    import pyarrow.parquet as pq

    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def _answers(name: str, db: Database, include_flagged: bool, include_gold: bool, secret: str):
    from datasets import Dataset

    table = answers_table(name, db, include_flagged=include_flagged, include_gold=include_gold)
    table = table.drop(columns=[c for c in CLIENT_ID_COLUMNS if c in table.columns])
    keys = table["annotator"].astype(str)
    table["annotator"] = keys.map({key: pseudonym(secret, key) for key in keys.unique()})
    return Dataset.from_pandas(table.reset_index(drop=True), preserve_index=False)


def _write_items(info, db: Database, folder: Path, include_gold: bool) -> int:
    import pyarrow as pa

    items = sorted((i for i in info.items.values() if include_gold or not i.is_gold), key=lambda i: i.id)
    with_composite = any(i.composite_sha256 for i in items)
    with_reference = any(i.reference_sha256 for i in items)
    features = _features(with_composite, with_reference)
    schema = features.arrow_schema
    media = db.media

    def image(sha256: str | None) -> dict | None:
        return None if sha256 is None else {"bytes": media.get(sha256), "path": f"{sha256}.png"}

    rows: list[dict] = []
    size, shard = 0, 0

    def flush() -> None:
        nonlocal rows, size, shard
        table = pa.Table.from_pylist(rows, schema=schema)
        _write_table(table, folder / f"items-{shard:05d}.parquet")
        rows, size, shard = [], 0, shard + 1

    for item in items:
        row = {"item": item.label, "group": item.group, "method": item.method, "gold": item.is_gold,
               "source_path": item.source_path, "image": image(item.sha256), "image_sha256": item.sha256}
        if with_composite:
            row |= {"composite": image(item.composite_sha256), "composite_sha256": item.composite_sha256}
        if with_reference:
            row |= {"reference": image(item.reference_sha256), "reference_sha256": item.reference_sha256}
        rows.append(row)
        size += sum(len(v["bytes"]) for v in row.values() if isinstance(v, dict))
        if size >= SHARD_BYTES:
            flush()
    if rows or shard == 0:
        flush()
    return len(items)


def export_hf_dataset(name: str, out: Path | str, db: Database | None = None, *, include_flagged: bool = True,
                      include_gold: bool = True) -> dict:
    """Write campaign ``name`` as a dataset folder ``out`` (module docstring); returns what was written.

    ``out`` must be a new or empty folder, or one this function wrote before (it is then replaced)."""
    db = db or default_database()
    info = get_campaign(name, db, fresh=True)
    target = Path(out)
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / "items").is_dir())):
        raise InputError(f"'{target}' exists and is not an exported dataset folder; give a new or empty folder.")
    answers_name = "votes" if info.kind == "pairwise" else "ratings"
    scratch = target.with_name(f".{target.name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "items").mkdir(parents=True)
    (scratch / answers_name).mkdir()
    answers = _answers(name, db, include_flagged, include_gold, info.secret)
    _write_table(answers.data.table, scratch / answers_name / f"{answers_name}-00000.parquet")
    items = _write_items(info, db, scratch / "items", include_gold)
    (scratch / "README.md").write_text(CARD.format(
        name=info.name, kind=info.kind, items=items, answers_count=len(answers), answers=answers_name,
        where=target.name, explanation=EXPLANATION[info.kind]))
    if target.exists():
        shutil.rmtree(target)
    os.replace(scratch, target)
    return {"campaign": info.name, "folder": str(target), "items": items, answers_name: len(answers)}


def push_to_hub(folder: Path | str, repo: str, *, private: bool = True) -> str:
    """Upload an exported folder to the dataset repository ``repo`` (created if needed); returns its URL."""
    folder = Path(folder)
    current = settings.current()
    keep = f"the export is complete in {folder}; upload it later with --push-to-hub or `hf upload {repo} {folder} " \
           "--repo-type dataset`"
    if current.hub_offline:
        raise InputError(f"Cannot push to the Hugging Face hub while HF_HUB_OFFLINE is set; {keep}.")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HFValidationError

    try:
        api = HfApi(endpoint=current.hub_endpoint)
        url = api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="dataset",
                          commit_message="HarmonyLab campaign export")
    except HFValidationError as error:
        raise InputError(f"'{repo}' is not a hub repository id ({error}); give OWNER/NAME.") from error
    except Exception as error:  # network, authentication, permission: one sentence with the hub's reason
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise InputError(f"Could not push to the Hugging Face hub dataset '{repo}' ({reason}); {keep}.") from error
    return str(url)
