"""Moving images between the media stores of one deployment while it serves (``python -m backend media ...``).

:func:`migrate` moves every image of the other store into ``to`` (``folder`` or ``database``), one image at
a time, each step safe to interrupt:

1. read the image from the source and check that its bytes hash to its name (a damaged source copy is
   reported and left where it is, unless the target already holds a good copy);
2. store it in the target unless the target holds it already, then read it back from the target and
   check the hash again;
3. only then delete the source copy (``keep_source`` keeps it).

So at every moment each image is complete in at least one store, and the app, which reads from both
stores (:class:`backend.store.media.Media`), serves every image throughout: voting never stops. After a
crash (or ``Ctrl-C``) the same command resumes: images already moved are no longer in the source, an image
that was copied but not yet deleted is found verified in the target and only deleted from the source.
The source is listed again until a pass finds nothing left to move, which picks up images that the app
stored in the source meanwhile. Order of work for a deployment: set ``HARMONYLAB_MEDIA`` to the target
and restart the app (new images then go to the target; old ones are still read from the source), then run
the command; running it first also works, and a second run moves what the app stored in between.

``pause_ms`` waits between images, to spread the load of a long migration on a busy database.

:func:`status` counts the images of each store and lists those that campaigns or saved prompts use but no
store holds (``python -m backend media status``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from sqlmodel import select

from backend.errors import InputError
from backend.store.db import Database
from backend.store.media import KINDS, MissingImageError
from backend.store.models import Item, SavedPrompt

MAX_PASSES = 10


def _other(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"Cannot migrate images to '{kind}'; give --to folder or --to database.")
    return KINDS[1 - KINDS.index(kind)]


def migrate(db: Database, to: str, *, keep_source: bool = False, pause_ms: int = 0,
            progress: Callable[[str, str], None] | None = None) -> dict:
    """Move every image of the other store into store ``to``; returns the counts (module docstring).

    ``progress(sha256, outcome)`` is called after each image (``moved``, ``already_there``, ``copied`` when the
    source is kept, ``damaged``, ``vanished`` when it was deleted meanwhile).
    """
    source, target = db.media.backend(_other(to)), db.media.backend(to)
    counts = {"moved": 0, "already_there": 0, "copied": 0, "damaged": 0, "vanished": 0}
    damaged: list[str] = []
    done: set[str] = set()
    for _ in range(MAX_PASSES):
        pending = [sha256 for sha256 in source.hashes() if sha256 not in done]
        if not pending:
            break
        for sha256 in pending:
            outcome = _move_one(source, target, sha256, keep_source)
            counts[outcome] += 1
            done.add(sha256)
            if outcome == "damaged":
                damaged.append(sha256)
            if progress:
                progress(sha256, outcome)
            if pause_ms:
                time.sleep(pause_ms / 1000)
    return {"to": to, "from": source.kind, **counts, "damaged_images": damaged,
            "left_in_source": len(source.hashes()), "in_target": len(target.hashes())}


def _intact(store, sha256: str) -> bool:
    try:
        return hashlib.sha256(store.get(sha256)).hexdigest() == sha256
    except MissingImageError:
        return False


def _move_one(source, target, sha256: str, keep_source: bool) -> str:
    try:
        data = source.get(sha256)
    except MissingImageError:
        return "vanished"  # removed meanwhile (an unused prompt image)
    already = _intact(target, sha256)
    if not already:
        if hashlib.sha256(data).hexdigest() != sha256:
            return "damaged"
        if target.has(sha256):  # a damaged target copy: replace it
            target.delete(sha256)
        target.put_png(data, sha256)
        if not _intact(target, sha256):
            raise RuntimeError(f"the image {sha256[:12]}... did not read back intact from the {target.kind} store; "
                               "nothing was deleted, run the command again")
    if keep_source:
        return "already_there" if already else "copied"
    source.delete(sha256)
    return "already_there" if already else "moved"


def referenced_hashes(db: Database) -> set[str]:
    """Every image hash a campaign item or a saved prompt uses."""
    used: set[str] = set()
    with db.reading() as session:
        for column in (Item.sha256, Item.composite_sha256, Item.reference_sha256):
            used.update(h for h in session.exec(select(column).distinct()).all() if h)
        for hashes in session.exec(select(SavedPrompt.image_sha256s)).all():
            used.update(hashes or [])
    return used


def status(db: Database) -> dict:
    """Images per store, the configured store, and images in use that no store holds (first 20 named)."""
    held = {store.kind: set(store.hashes()) for store in db.media.stores}
    used = referenced_hashes(db)
    missing = sorted(used - set().union(*held.values()))
    return {"configured": db.media.kind, **{f"{kind}_images": len(hashes) for kind, hashes in held.items()},
            "in_both": len(set.intersection(*held.values())), "images_in_use": len(used),
            "missing": len(missing), "missing_images": missing[:20]}
