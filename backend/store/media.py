"""Content-addressed storage of the images annotators see: in the data directory or in the database itself.

Contract (the same for every back end): every image that enters a campaign or a saved prompt is decoded and
validated with :func:`backend.images.load_image` (EXIF orientation applied, alpha dropped, 16-bit scaled,
pixel limit checked), re-encoded as PNG, and stored under ``sha256``, the hash of those PNG bytes. So

- what annotators see is exactly the RGB array the rest of HarmonyLab uses (no browser-dependent
  decoding of EXIF, colour profiles or formats a browser cannot show, such as TIFF or 16-bit PNG);
- the name verifies the content (``sha256sum`` of the bytes equals it), an image never changes once
  stored, and its URL (``/annotate/v1/images/<sha256>.png``) reveals nothing about its method or source;
- identical uploads are stored once. (The same pixels encoded by another Pillow/zlib version may hash
  differently; that only costs a second copy, never a wrong image.)

Back ends (the setting ``HARMONYLAB_MEDIA``; default ``folder`` with SQLite, ``database`` when
``HARMONYLAB_DATABASE_URL`` names a server such as PostgreSQL):

- ``folder`` (:class:`FolderMedia`): files ``<data dir>/images/<aa>/<bb>/<sha256>.png``, written to a
  temporary name and renamed, so a crash never leaves a partial image under its final name. Lives as long
  as the data directory: a Space without persistent storage loses it on restart, and replicas on several
  machines would each need the same folder.
- ``database`` (:class:`backend.store.media_database.DatabaseMedia`): one row of ``media_blobs`` per image
  (migration ``0005_media_blobs``), written in a transaction, so images live exactly as long as the votes
  that refer to them, and every replica of one database sees every image.

:class:`Media` (what ``Database.media`` is) writes to the chosen back end and reads from the chosen one
first, then the other: a campaign created under one setting stays readable after the setting changes,
and ``python -m backend media migrate --to folder|database`` (:mod:`backend.store.media_migrate`) moves
the images between them while the app serves. Deleting (unused prompt images) removes from both.

Reading: :meth:`Media.get` (bytes), :meth:`Media.array` (the decoded RGB array), :meth:`Media.source` (what
the image route sends: the local file, or the bytes), :meth:`Media.served_name` (what a served pair/item
names: the image's file path in the folder store, ``<sha256>.png`` in the database, without reading it).
Code that needs a path (models vs people, PromptIQA prompt files, HarmonyIQA training rows) calls
:meth:`Media.file`: the file itself in the folder store, else a copy in a bounded local cache
(:class:`LocalCache`, ``<data dir>/cache/images``, ``HARMONYLAB_MEDIA_CACHE`` bytes; least recently used
copies go first, but never one used in the last ``LocalCache.MIN_AGE_S`` seconds, since a caller may still
be reading it, so the bound may be exceeded by what was used in that time). The cache holds copies of
immutable content only, so it may be deleted at any time and each replica keeps its own.

Campaign creation stores its images as one :meth:`Media.batch`: they are staged in a scratch folder first
and enter the store only when every image was valid, so a refused campaign leaves the store unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from backend.errors import InputError
from backend.images import load_image

SHA256_LENGTH = 64
FOLDER, DATABASE = "folder", "database"
KINDS = (FOLDER, DATABASE)
_HEX = frozenset("0123456789abcdef")


class MissingImageError(InputError):
    """An image is in no media store (the sentence names the image by hash, never a server path)."""

    def __init__(self, sha256: str):
        super().__init__(f"The image {sha256[:12]}... is missing from the media store; restore the store from a "
                         "backup or re-create the campaign (`python -m backend media status` lists what is missing).")
        self.sha256 = sha256


def is_hash(text: object) -> bool:
    return isinstance(text, str) and len(text) == SHA256_LENGTH and set(text) <= _HEX


def check_hash(sha256: object) -> str:
    if not is_hash(sha256):
        raise InputError(f"'{str(sha256)[:80]}' is not an image hash; hashes are 64 lowercase hex digits.")
    return sha256


def encode_png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def verified_hash(data: bytes, sha256: str | None = None) -> str:
    """The SHA-256 of ``data``; ValueError when ``sha256`` is given and differs (a damaged copy)."""
    actual = hashlib.sha256(data).hexdigest()
    if sha256 is not None and actual != sha256:
        raise ValueError(f"the bytes stored as {sha256[:12]}... hash to {actual[:12]}...: the copy is damaged")
    return actual


class MediaBackend:
    """What every back end does (the folder and the database implement the abstract part)."""

    kind = ""

    def put(self, source: Any, name: str = "image") -> str:
        """Validate ``source`` (anything :func:`load_image` accepts), store it as PNG, return its hash."""
        return self.put_png(encode_png(load_image(source, name=name)))

    def put_png(self, data: bytes, sha256: str | None = None) -> str:
        """Store PNG bytes (already validated) under their hash; ValueError when ``sha256`` does not match."""
        raise NotImplementedError

    def put_many(self, files: Iterable[tuple[str, Path]]) -> None:
        """Store the staged files ``(sha256, path)`` (verified against their names)."""
        for sha256, path in files:
            self.put_png(path.read_bytes(), sha256)

    def get(self, sha256: str) -> bytes:
        """The PNG bytes of ``sha256``; MissingImageError when this back end does not hold it."""
        raise NotImplementedError

    def has(self, sha256: str) -> bool:
        raise NotImplementedError

    def size(self, sha256: str) -> int:
        raise NotImplementedError

    def delete(self, sha256: str) -> None:
        raise NotImplementedError

    def hashes(self) -> list[str]:
        """Every stored hash, sorted."""
        raise NotImplementedError

    def local_path(self, sha256: str) -> Path | None:
        """The image's file on this machine, when this back end keeps files."""
        return None

    @contextlib.contextmanager
    def batch(self) -> Iterator[FolderMedia]:
        """A scratch store to ``put`` images into; they enter this store only if the block succeeds."""
        scratch = Path(tempfile.mkdtemp(prefix="harmonylab-media-"))
        try:
            staging = FolderMedia(scratch)
            yield staging
            self.put_many((sha256, staging.path(sha256)) for sha256 in staging.hashes())
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


class FolderMedia(MediaBackend):
    """Images by content hash as files under ``root``."""

    kind = FOLDER

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def under(cls, data_dir: Path) -> FolderMedia:
        """The folder store of a data directory (``<data dir>/images``)."""
        return cls(Path(data_dir).resolve() / "images")

    def path(self, sha256: str) -> Path:
        check_hash(sha256)
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.png"

    def _write(self, data: bytes, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put_png(self, data: bytes, sha256: str | None = None) -> str:
        sha256 = verified_hash(data, sha256)
        target = self.path(sha256)
        if not (target.exists() and target.stat().st_size == len(data)):
            self._write(data, target)
        return sha256

    @contextlib.contextmanager
    def batch(self) -> Iterator[FolderMedia]:
        """Stage on the same file system, then move every staged file into place (a rename each)."""
        staging = FolderMedia(self.root / f".staging-{uuid.uuid4().hex}")
        try:
            yield staging
            for sha256 in staging.hashes():
                target = self.path(sha256)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging.path(sha256), target)
        finally:
            shutil.rmtree(staging.root, ignore_errors=True)

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise MissingImageError(sha256) from None

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise MissingImageError(sha256) from None

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def hashes(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("[0-9a-f][0-9a-f]/[0-9a-f][0-9a-f]/*.png") if is_hash(p.stem))

    def local_path(self, sha256: str) -> Path | None:
        path = self.path(sha256)
        return path if path.is_file() else None

    def file(self, sha256: str) -> str:
        """The stored file of ``sha256`` as a string path (MissingImageError when absent)."""
        path = self.local_path(sha256)
        if path is None:
            raise MissingImageError(sha256)
        return str(path)


MediaStore = FolderMedia  # the first store's name (``ui/annotate.py`` serves ``MediaStore.under(...).root``)


class LocalCache:
    """Copies of images as files for code that needs a path, at most about ``max_bytes`` (module docstring)."""

    MIN_AGE_S = 600.0

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._bytes: int | None = None  # counted on first use, then kept up to date by this process
        self._lock = threading.Lock()

    def path(self, sha256: str) -> Path:
        check_hash(sha256)
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.png"

    def get(self, sha256: str) -> Path | None:
        """The cached copy (marked as used now), or None."""
        path = self.path(sha256)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def put(self, sha256: str, data: bytes) -> Path:
        path = self.path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=path.parent)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)  # no fsync: a copy that a crash loses is fetched again
        with self._lock:
            if self._bytes is None:
                self._bytes = self._count()
            else:
                self._bytes += len(data)
            if self._bytes > self.max_bytes:
                self._trim()
        return path

    def _files(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self.root.glob("*/*/*.png"):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                found.append((stat.st_mtime, stat.st_size, path))
        return found

    def _count(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _trim(self) -> None:
        files = sorted(self._files())
        total = sum(size for _, size, _ in files)
        cutoff = time.time() - self.MIN_AGE_S
        for used, size, path in files:
            if total <= self.max_bytes or used > cutoff:
                break
            path.unlink(missing_ok=True)
            total -= size
        self._bytes = total


class Media:
    """The media of one database: writes go to ``primary``; reads try ``primary``, then ``others``."""

    def __init__(self, primary: MediaBackend, others: Iterable[MediaBackend], cache: LocalCache):
        self.primary = primary
        self.stores: tuple[MediaBackend, ...] = (primary, *others)
        self.cache = cache

    @property
    def kind(self) -> str:
        return self.primary.kind

    def backend(self, kind: str) -> MediaBackend:
        for store in self.stores:
            if store.kind == kind:
                return store
        raise InputError(f"There is no '{kind}' media store; use one of {', '.join(KINDS)}.")

    # writing (the chosen back end)

    def put(self, source: Any, name: str = "image") -> str:
        return self.primary.put(source, name=name)

    def put_png(self, data: bytes, sha256: str | None = None) -> str:
        return self.primary.put_png(data, sha256)

    def batch(self) -> contextlib.AbstractContextManager[FolderMedia]:
        return self.primary.batch()

    def delete(self, sha256: str) -> None:
        """Remove ``sha256`` from every back end."""
        for store in self.stores:
            store.delete(sha256)

    # reading (any back end)

    def get(self, sha256: str) -> bytes:
        check_hash(sha256)
        for store in self.stores:
            try:
                return store.get(sha256)
            except MissingImageError:
                continue
        raise MissingImageError(sha256)

    def has(self, sha256: str) -> bool:
        return any(store.has(sha256) for store in self.stores)

    def size(self, sha256: str) -> int:
        for store in self.stores:
            try:
                return store.size(sha256)
            except MissingImageError:
                continue
        raise MissingImageError(sha256)

    def hashes(self) -> list[str]:
        """Every hash held by any back end, sorted."""
        return sorted({sha256 for store in self.stores for sha256 in store.hashes()})

    def array(self, sha256: str) -> np.ndarray:
        """The image as the RGB ``uint8`` array the models take."""
        return load_image(self.get(sha256), name=f"stored image {sha256[:12]}...")

    def local_path(self, sha256: str) -> Path | None:
        for store in self.stores:
            path = store.local_path(sha256)
            if path is not None:
                return path
        return None

    def source(self, sha256: str) -> Path | bytes:
        """What the image route sends: the file when one is on this machine, else the bytes."""
        return self.local_path(check_hash(sha256)) or self.get(sha256)

    def file(self, sha256: str) -> str:
        """A file holding the image, for code that needs a path: the stored file, or a cached copy."""
        path = self.local_path(check_hash(sha256)) or self.cache.get(sha256)
        if path is None:
            path = self.cache.put(sha256, self.get(sha256))
        return str(path)

    def served_name(self, sha256: str) -> str:
        """What a served pair/item names (pages and clients use its URL ``.../images/<sha256>.png``): the file's
        path in the folder store (checked, as always), ``<sha256>.png`` when the database holds it (not read:
        serving costs no query; the image route answers 404 for an image that is missing)."""
        check_hash(sha256)
        if self.primary.kind == FOLDER:
            path = self.primary.local_path(sha256)
            if path is not None:
                return str(path)
            if not any(store.has(sha256) for store in self.stores[1:]):
                raise MissingImageError(sha256)
        return f"{sha256}.png"


def open_media(db: Any, kind: str | None = None) -> Media:
    """The media of database ``db``: back end ``kind``, else the setting ``HARMONYLAB_MEDIA``, else ``database``
    for a server database and ``folder`` for SQLite; the other back end stays readable."""
    from backend import settings
    from backend.store.media_database import DatabaseMedia  # it builds on this module

    current = settings.current()
    kind = kind or current.media or (FOLDER if db.is_sqlite else DATABASE)
    if kind not in KINDS:
        raise InputError(f"'{kind}' is not a media store; use one of {', '.join(KINDS)}.")
    cache = LocalCache(db.data_dir / "cache" / "images", current.media_cache)
    folder = FolderMedia.under(db.data_dir)
    if db.engine.dialect.name not in DatabaseMedia.DIALECTS:  # another SQLAlchemy database: files only
        if kind == DATABASE:
            raise InputError(f"Images can be kept in SQLite or PostgreSQL databases, not {db.engine.dialect.name}; "
                             "set HARMONYLAB_MEDIA=folder.")
        return Media(folder, [], cache)
    database = DatabaseMedia(db)
    primary, other = (folder, database) if kind == FOLDER else (database, folder)
    return Media(primary, [other], cache)
