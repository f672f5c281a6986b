"""Campaigns: creation from a manifest (CLI and admin section), lookup with a short per-process cache.

A campaign's settings are immutable after creation except for ``is_open``; items can be added later
(:mod:`backend.store.items`), never changed or removed. What the hot paths need (settings, items,
groups, gold answers, token secret) is loaded once into a :class:`CampaignInfo` and cached for
``CACHE_SECONDS`` per process. So with several app processes (replicas), a campaign created through one is
served by every other at once (a name not in the cache is read from the database), items added through one
are served by the others within ``CACHE_SECONDS``, and closing or reopening takes effect everywhere within
``CACHE_SECONDS``. An answer naming an item that this process's cached copy does not know yet (served by
another process after an addition) reloads the campaign before it is judged, and exports always read the
database, so neither depends on the cache.
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.errors import InputError, shown
from backend.store import manifest as manifests
from backend.store import samplers, tokens
from backend.store.db import Database, default_database
from backend.store.models import KINDS, Campaign, GoldAnswer, Item

CACHE_SECONDS = 30.0
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
DEFAULT_QUESTION = {
    "pairwise": "Which image looks more harmonious — is the foreground consistent with the background?",
    "rating": "How good is the harmonized image overall?",
}
DEFAULT_INSTRUCTIONS = {
    "pairwise": "Two harmonized versions of the same composite are shown. Choose the one where the pasted "
                "foreground fits the background better (colour, lighting, realism).",
    "rating": "The harmonized image is shown with its composite (before harmonization) and the real "
              "reference photo. Rate the harmonized image from 1 (bad) to 5 (excellent), judging "
              "harmonization effect, content authenticity and foreground detail preservation together.",
}


@dataclass(frozen=True)
class ItemInfo:
    id: int
    sha256: str
    group: str
    method: str
    source_path: str
    composite_sha256: str | None
    reference_sha256: str | None
    is_gold: bool

    @property
    def label(self) -> str:
        return f"{self.group}/{self.method}"


@dataclass(frozen=True)
class GoldInfo:
    id: int
    item_id: int
    other_item_id: int | None
    min_score: int | None
    max_score: int | None


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    kind: str
    instructions: str
    question: str
    allow_tie: bool
    gold_rate: float
    gold_min_accuracy: float
    daily_cap: int
    min_response_ms: int
    sampler: str
    secret: str
    is_open: bool
    items: dict[int, ItemInfo]
    golds: dict[int, GoldInfo]
    groups: dict[str, tuple[int, ...]] = field(default_factory=dict)  # ordinary item ids per group

    @property
    def ordinary_ids(self) -> tuple[int, ...]:
        return tuple(sorted(i for i, item in self.items.items() if not item.is_gold))


# ------------------------------------------------------------------------------------------ lookup


def _load(db: Database, name: str) -> CampaignInfo | None:
    with db.reading() as session:
        row = session.exec(select(Campaign).where(Campaign.name == name)).first()
        if row is None:
            return None
        items = session.exec(select(Item).where(Item.campaign_id == row.id)).all()
        golds = session.exec(select(GoldAnswer).where(GoldAnswer.campaign_id == row.id)).all()
    item_infos = {i.id: ItemInfo(i.id, i.sha256, i.group_name, i.method, i.source_path, i.composite_sha256,
                                 i.reference_sha256, i.is_gold) for i in items}
    groups: dict[str, list[int]] = {}
    for item in sorted(item_infos.values(), key=lambda i: i.id):
        if not item.is_gold:
            groups.setdefault(item.group, []).append(item.id)
    return CampaignInfo(
        id=row.id, name=row.name, kind=row.kind, instructions=row.instructions, question=row.question,
        allow_tie=row.allow_tie, gold_rate=row.gold_rate, gold_min_accuracy=row.gold_min_accuracy,
        daily_cap=row.daily_cap, min_response_ms=row.min_response_ms, sampler=row.sampler,
        secret=row.token_secret, is_open=row.is_open, items=item_infos,
        golds={g.id: GoldInfo(g.id, g.item_id, g.other_item_id, g.min_score, g.max_score) for g in golds},
        groups={name: tuple(ids) for name, ids in groups.items()},
    )


def list_campaigns(db: Database | None = None, *, only_open: bool = False) -> list[dict]:
    """Name, kind and openness of every campaign, newest first."""
    db = db or default_database()
    with db.reading() as session:
        query = select(Campaign.name, Campaign.kind, Campaign.is_open).order_by(Campaign.id.desc())
        if only_open:
            query = query.where(Campaign.is_open)
        return [{"name": n, "kind": k, "open": o} for n, k, o in session.exec(query).all()]


def get_campaign(name: object, db: Database | None = None, *, kind: str | None = None,
                 fresh: bool = False) -> CampaignInfo:
    """The campaign called ``name`` (cached; ``fresh`` reads the database again, for answers naming items this
    process has not seen yet and for exports); InputError naming the open campaigns (never closed ones) when
    there is none."""
    db = db or default_database()
    if not isinstance(name, str) or not name.strip():
        raise InputError("No campaign was given; choose a campaign (see `python -m backend campaign list`).")
    name = name.strip()
    now = time.monotonic()
    cached = None if fresh else db.campaign_cache.get(name)
    if cached is not None and cached[0] > now:
        info = cached[1]
    else:
        info = _load(db, name) if NAME_PATTERN.match(name) else None  # no campaign has another kind of name
        if info is None:
            known = ", ".join(c["name"] for c in list_campaigns(db, only_open=True)[:10]) or "none"
            raise InputError(f"There is no campaign {shown(name, 110)}; open campaigns: {known}.")
        db.campaign_cache[name] = (now + CACHE_SECONDS, info)
    if kind is not None and info.kind != kind:
        other = "/next_pair and /vote" if info.kind == "pairwise" else "/next_item and /rate"
        raise InputError(f"Campaign '{name}' is a {info.kind} campaign; use {other} for it.")
    return info


def set_open(name: str, is_open: bool, db: Database | None = None) -> None:
    db = db or default_database()
    info = get_campaign(name, db)
    with db.writing() as session:
        row = session.get(Campaign, info.id)
        row.is_open = is_open
        session.add(row)
    db.campaign_cache.pop(info.name, None)


# ---------------------------------------------------------------------------------------- creation


@dataclass(frozen=True)
class CampaignSettings:
    kind: str
    allow_tie: bool = False
    instructions: str | None = None
    question: str | None = None
    gold_rate: float = 0.0
    gold_min_accuracy: float = 0.0
    daily_cap: int = 0
    min_response_ms: int = 0
    sampler: str = "uniform"

    def check(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"Campaign kind '{self.kind}' is not supported; use pairwise or rating.")
        if not 0.0 <= float(self.gold_rate) <= 1.0:
            raise InputError(f"The gold rate {self.gold_rate} is outside 0..1; give the fraction of gold pairs, e.g. 0.1.")
        if not 0.0 <= float(self.gold_min_accuracy) <= 1.0:
            raise InputError(f"The minimum gold accuracy {self.gold_min_accuracy} is outside 0..1; e.g. 0.7, or 0 to never flag.")
        if int(self.daily_cap) < 0 or int(self.min_response_ms) < 0:
            raise InputError("The daily cap and the minimum response time cannot be negative; use 0 for none.")
        if self.allow_tie and self.kind != "pairwise":
            raise InputError("Ties only exist in pairwise campaigns; drop --allow-tie for a rating campaign.")
        if self.kind == "pairwise":
            samplers.check_sampler(self.sampler)
        elif self.sampler != "uniform":
            raise InputError("Rating campaigns serve images uniformly; drop the sampler option.")


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name.strip()):
        raise InputError(f"Campaign name {name!r} is not usable; use 1-100 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit.")
    return name.strip()


def _store_images(db: Database, rows: list, gold_rows: list, progress: Callable[[float, str], None] | None) -> dict[Path, str]:
    """Validate and store every distinct image file; return path -> sha256."""
    paths = list(dict.fromkeys(path for row in rows + gold_rows
                               for path in (row.path, getattr(row, "other", None), row.reference, row.composite)
                               if path is not None))
    hashes = {}
    with db.media.batch() as staging:
        for index, path in enumerate(paths):
            if progress:
                progress(index / len(paths), f"checking image {index + 1}/{len(paths)}")
            hashes[path] = staging.put(path, name=f"image '{path.name}'")
    if progress:
        progress(1.0, f"stored {len(paths)} images")
    return hashes


def _check_pairs_exist(rows: list[manifests.ManifestRow], kind: str) -> None:
    if kind != "pairwise":
        return
    sizes: dict[str, int] = {}
    for row in rows:
        sizes[row.group] = sizes.get(row.group, 0) + 1
    if max(sizes.values()) < 2:
        raise InputError("No group of the manifest holds two images, so there is no pair to compare; give each "
                         "group (e.g. each source composite) two or more methods.")


def create_campaign(
    name: str,
    manifest: Path | str,
    settings: CampaignSettings,
    *,
    gold: Path | str | None = None,
    db: Database | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> CampaignInfo:
    """Create a campaign from a manifest (and optional gold file); nothing is stored unless all is valid."""
    db = db or default_database()
    name = check_name(name)
    settings.check()
    with db.reading() as session:
        if session.exec(select(func.count()).select_from(Campaign).where(Campaign.name == name)).one():
            raise InputError(f"A campaign called '{name}' already exists; choose another name.")
    rows = manifests.read_manifest(manifest)
    _check_pairs_exist(rows, settings.kind)
    gold_rows = manifests.read_gold(gold, settings.kind) if gold else []
    if settings.gold_rate > 0 and not gold_rows:
        raise InputError("A gold rate was given without gold answers; add --gold FILE (or set the gold rate to 0).")
    hashes = _store_images(db, rows, gold_rows, progress)

    def pick(path: Path | None) -> str | None:
        return hashes[path] if path is not None else None

    try:
        with db.writing() as session:
            campaign = Campaign(
                name=name, kind=settings.kind, allow_tie=bool(settings.allow_tie),
                instructions=settings.instructions or DEFAULT_INSTRUCTIONS[settings.kind],
                question=settings.question or DEFAULT_QUESTION[settings.kind],
                gold_rate=float(settings.gold_rate), gold_min_accuracy=float(settings.gold_min_accuracy),
                daily_cap=int(settings.daily_cap), min_response_ms=int(settings.min_response_ms),
                sampler=settings.sampler, token_secret=tokens.new_secret(),
            )
            session.add(campaign)
            session.flush()
            for row in rows:
                session.add(Item(campaign_id=campaign.id, sha256=hashes[row.path], group_name=row.group,
                                 method=row.method, source_path=row.source, composite_sha256=pick(row.composite),
                                 reference_sha256=pick(row.reference)))
            for row in gold_rows:
                group = f"{manifests.GOLD_GROUP_PREFIX}{row.line}"
                first = Item(campaign_id=campaign.id, sha256=hashes[row.path], group_name=group,
                             method="better" if row.other else "gold", source_path=row.path.name, is_gold=True,
                             composite_sha256=pick(row.composite), reference_sha256=pick(row.reference))
                second = None if row.other is None else Item(
                    campaign_id=campaign.id, sha256=hashes[row.other], group_name=group, method="worse",
                    source_path=row.other.name, is_gold=True)
                pair = [first] + ([second] if second else [])
                random.shuffle(pair)  # ids in random order: the better image's id says nothing about it
                for item in pair:
                    session.add(item)
                    session.flush()
                session.add(GoldAnswer(campaign_id=campaign.id, item_id=first.id,
                                       other_item_id=second.id if second else None,
                                       min_score=row.min_score, max_score=row.max_score))
    except IntegrityError as error:
        raise InputError(f"A campaign called '{name}' already exists; choose another name.") from error
    db.campaign_cache.pop(name, None)
    return get_campaign(name, db)


def create_campaign_from_archive(name: str, archive: Path | str, settings: CampaignSettings, *,
                                 db: Database | None = None, progress=None) -> CampaignInfo:
    """Create a campaign from an uploaded ``.zip`` (manifest.csv, optional gold.csv, images)."""
    with tempfile.TemporaryDirectory(prefix="harmonylab-campaign-") as scratch:
        manifest, gold = manifests.extract_archive(archive, Path(scratch))
        return create_campaign(name, manifest, settings, gold=gold, db=db, progress=progress)
