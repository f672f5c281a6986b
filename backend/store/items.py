"""Adding items to an existing campaign (issue 5: "add to campaign" from the Harmonize tab; CLI ``campaign add``).

An item is one image to judge, in a ``group`` (what is compared: paper 002 compares the harmonized
results of one composite, so a group is one composite), labelled with its ``method`` (hidden from
annotators), optionally with the ``composite`` and ``reference`` shown next to it in rating campaigns
(paper 000, Fig. 2b). Images are validated and stored exactly as at campaign creation
(:mod:`backend.store.media`: decoded with :func:`backend.images.load_image`, re-encoded as PNG, stored
under their SHA-256); works for pairwise and rating campaigns, open or closed.

Each new item is, in the outcome, one of
- ``added``: stored as a new item;
- ``already_present``: the same image content is already an item of that group (or appears twice in
  the request) — reported, not an error, and the other items are still added;
- ``refused``: the group already has a *different* image under that method name (the store keeps one
  image per method and group) — reported with what to do; the other items are still added.
Invalid input (unknown campaign, empty or reserved group / method names, an image that cannot be
decoded) refuses the whole request before anything is stored, as campaign creation does.

Serving sees the new items at once in this process; other app processes cache a campaign for up to
``backend.store.campaigns.CACHE_SECONDS`` (30 s) and pick them up then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.errors import InputError
from backend.images import content_hash, load_image
from backend.store import manifest as manifests
from backend.store.campaigns import get_campaign
from backend.store.db import Database, default_database
from backend.store.models import Item

MAX_NAME = 200


@dataclass(frozen=True)
class NewItem:
    """One image to add: anything :func:`backend.images.load_image` accepts (path, array, ...)."""

    image: Any
    group: str
    method: str
    reference: Any = None
    composite: Any = None
    source: str = ""  # where it came from, kept for exports (the manifest path, or e.g. "harmonize:<method>")


def _label(value: object, what: str, index: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_NAME:
        raise InputError(f"Item {index + 1} has {'no' if not text else 'a too long'} {what}; give 1-{MAX_NAME} "
                         f"characters (the {what} names {'what images are compared within' if what == 'group' else 'the image'}).")
    if what == "group" and text.startswith(manifests.GOLD_GROUP_PREFIX):
        raise InputError(f"Item {index + 1} uses group '{text}'; names starting with "
                         f"'{manifests.GOLD_GROUP_PREFIX}' are reserved for gold items, rename the group.")
    return text


def _store_images(db: Database, items: list[NewItem], progress: Callable[[float, str], None] | None) -> list[tuple]:
    """Validate and store every image; return (sha, composite sha, reference sha) per item."""
    hashes = []
    with db.media.batch() as staging:
        for index, item in enumerate(items):
            if progress:
                progress(index / len(items), f"checking image {index + 1}/{len(items)}")
            name = f"image of item {index + 1} ({item.group}/{item.method})"
            hashes.append((staging.put(item.image, name=name),
                           staging.put(item.composite, name=f"composite of item {index + 1}") if item.composite is not None else None,
                           staging.put(item.reference, name=f"reference of item {index + 1}") if item.reference is not None else None))
    if progress:
        progress(1.0, f"checked {len(items)} images")
    return hashes


def add_items(campaign_name: str, items: Sequence[NewItem], db: Database | None = None,
              progress: Callable[[float, str], None] | None = None) -> dict:
    """Add ``items`` to campaign ``campaign_name``; returns ``{"campaign", "added", "already_present", "refused"}``.

    Each list holds ``{"group", "method", "sha256"}`` entries (``added`` also the new ``item_id``;
    ``already_present`` and ``refused`` a ``reason``).
    """
    db = db or default_database()
    info = get_campaign(campaign_name, db)
    items = list(items)
    if not items:
        raise InputError("There are no items to add; give at least one image with its group and method.")
    items = [NewItem(item.image, _label(item.group, "group", i), _label(item.method, "method", i), item.reference,
                     item.composite, str(item.source or "")[:1000]) for i, item in enumerate(items)]
    hashes = _store_images(db, items, progress)
    outcome: dict[str, Any] = {"campaign": info.name, "added": [], "already_present": [], "refused": []}
    try:
        with db.writing() as session:
            rows = session.exec(select(Item).where(Item.campaign_id == info.id, Item.is_gold == False)).all()  # noqa: E712
            by_content = {(row.group_name, row.sha256) for row in rows}
            by_method = {(row.group_name, row.method): row.sha256 for row in rows}
            new_rows = []
            for item, (sha, composite, reference) in zip(items, hashes, strict=True):
                entry = {"group": item.group, "method": item.method, "sha256": sha}
                if (item.group, sha) in by_content:
                    outcome["already_present"].append({**entry, "reason": f"group '{item.group}' already holds this "
                                                                           "image (same content)"})
                    continue
                if (item.group, item.method) in by_method:
                    outcome["refused"].append({**entry, "reason": f"group '{item.group}' already has another image "
                                                                  f"for method '{item.method}'; give it another "
                                                                  "method name (one image per method and group)"})
                    continue
                row = Item(campaign_id=info.id, sha256=sha, group_name=item.group, method=item.method,
                           source_path=item.source, composite_sha256=composite, reference_sha256=reference)
                session.add(row)
                new_rows.append((entry, row))
                by_content.add((item.group, sha))
                by_method[(item.group, item.method)] = sha
            session.flush()
            outcome["added"] = [{**entry, "item_id": row.id} for entry, row in new_rows]
    except IntegrityError as error:  # another request added the same group/method at the same moment
        raise InputError(f"Campaign '{info.name}' was changed by another request at the same time; add the items "
                         "again (those already stored will be reported as present).") from error
    db.campaign_cache.pop(info.name, None)  # the win counts are cached per item count (backend.store.pairwise)
    return outcome


def add_items_from_manifest(campaign_name: str, manifest: Path | str, db: Database | None = None,
                            progress: Callable[[float, str], None] | None = None) -> dict:
    """Add the rows of a manifest (same format as campaign creation: ``path,group,method[,reference][,composite]``)."""
    rows = manifests.read_manifest(manifest)
    return add_items(campaign_name, [NewItem(row.path, row.group, row.method, row.reference, row.composite, row.source)
                                     for row in rows], db=db, progress=progress)


def harmonized_items(composite: Any, results: Sequence[tuple[Any, str]], reference: Any = None,
                     group: str | None = None) -> list[NewItem]:
    """The items of one Harmonize run: the composite (method ``composite``) and each result (method = harmonizer
    name), all in one group (default ``harmonize-<content hash of the composite>``), composite and reference
    attached to the results (reference also to the composite)."""

    if composite is None or not results:
        raise InputError("There is no harmonization result to add; press Harmonize first.")
    composite = load_image(composite, name="composite")
    group = (group or "").strip() or f"harmonize-{content_hash(composite)[:12]}"
    items = [NewItem(composite, group, "composite", reference=reference, source="harmonize:composite")]
    for image, method in results:
        if method == "composite":  # the identity "harmonizer" is the composite itself, added above
            continue
        items.append(NewItem(image, group, method, reference=reference, composite=composite,
                             source=f"harmonize:{method}"))
    return items
