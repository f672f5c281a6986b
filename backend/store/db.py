"""Engine, sessions and per-process caches of the annotation store.

Configuration (:mod:`backend.settings`):
- ``HARMONYLAB_DATABASE_URL``: any SQLAlchemy URL; PostgreSQL (``postgresql+psycopg://...``) is the
  engine for deployments with many annotators or several app replicas. Default: the SQLite file
  ``harmonylab.db`` in the data directory.
- ``HARMONYLAB_DATA_DIR`` (default ``data/``): the SQLite file, the folder media store and the local image
  cache. With a server database and the database media store (``HARMONYLAB_MEDIA``, :mod:`backend.store.media`)
  nothing in it outlives a restart that matters: replicas need no shared directory.
- ``HARMONYLAB_DB_POOL_SIZE`` (default 10): connections kept per process (plus as many on overflow).
- ``HARMONYLAB_SQLITE_SYNCHRONOUS`` (default ``FULL``), below.

SQLite settings, chosen for durability and concurrency:
- ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers.
- ``synchronous=FULL`` (default; ``HARMONYLAB_SQLITE_SYNCHRONOUS=NORMAL`` to change). Durability under a
  SIGKILL of the app needs only ``NORMAL``: in WAL mode a commit has written the transaction to the WAL
  file (a ``write()``, so it sits in the OS page cache) before it returns, so a committed — hence
  acknowledged — answer survives any crash of the app process (``tests/store/test_api.py`` kills the
  app with SIGKILL while votes stream and finds every acknowledged vote). ``FULL`` adds an fsync of the
  WAL to each commit, so acknowledged answers also survive a power cut or kernel crash. That fsync caps
  one-row commits at 440-750/s here (4 100-5 100/s with ``NORMAL``), but answers are committed by the
  group-commit writer (:mod:`backend.store.writer`), one fsync per batch of whatever arrived meanwhile.
  Through the HTTP API with 32 clients (``benchmarks/annotation_load.py``, shared 2-core machine)
  ``FULL`` gave 127-193 votes/s and ``NORMAL`` 133-202 across runs — the HTTP layer, not the fsync,
  sets the pace — so the stronger guarantee is the default.
- ``busy_timeout=30000`` (also the driver's ``timeout``) so concurrent writers queue instead of failing,
  and write transactions begin with ``BEGIN IMMEDIATE`` (a deferred transaction that reads first could
  fail at its first write with SQLITE_BUSY when another writer committed in between).
- Within one process, write transactions take turns on a ``threading.Lock`` before they begin: SQLite's
  busy handler polls with sleeps of up to 100 ms, which under many concurrent writers made p99 latency
  balloon; the lock hands over at once. Other processes (replicas, the CLI) still meet the busy timeout.
- ``foreign_keys=ON``.

Per-process state of a :class:`Database`: caches (campaigns, annotator row ids in a bounded table, win
counts, the root key of annotator ids), the rate limits of :mod:`backend.store.limits` and the group-commit
writer's queue; replicas share only the database itself (why each is safe: :mod:`backend.store`).

Every :class:`Database` upgrades its schema to the newest migration when it is opened
(:func:`backend.store.migrate.upgrade_to_head`, safe when several processes start at once).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session

from backend import settings
from backend.errors import InputError
from backend.store.limits import ANNOTATOR_CACHE, BoundedCache, RateLimits
from backend.store.media import Media, open_media
from backend.store.migrate import upgrade_to_head
from backend.store.writer import GroupWriter

SQLITE_FILE = "harmonylab.db"
SQLITE_BUSY_TIMEOUT_S = 30
WRITE_OPTION = "harmonylab_write"


def data_dir() -> Path:
    """The data directory (the setting ``HARMONYLAB_DATA_DIR``, default ``data/``)."""
    return settings.current().data_dir


def database_url(directory: Path | None = None) -> str:
    """The setting ``HARMONYLAB_DATABASE_URL``, or the SQLite file in the data directory."""
    current = settings.current()
    return current.database_url or f"sqlite:///{(directory or current.data_dir).resolve() / SQLITE_FILE}"


def _configure_sqlite(engine: Engine, synchronous: str) -> None:

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see below)
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", f"busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}",
                       "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection):
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":  # single-statement reads need no transaction
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION) else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings described in the module docstring."""
    try:
        parsed = make_url(url)
    except Exception as error:
        raise InputError(f"HARMONYLAB_DATABASE_URL '{url}' is not a database URL ({error}).") from error
    current = settings.current()
    pool_size = current.db_pool_size
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise InputError("An in-memory SQLite database cannot be shared by the app's threads; give a file.")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_timeout=60,
                               connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})
        _configure_sqlite(engine, current.sqlite_synchronous)
        return engine
    # No pre-ping (it would add a round trip to every request); a connection the server dropped fails one
    # request, after which SQLAlchemy discards the pool's stale connections; pool_recycle bounds their age.
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_timeout=60, pool_recycle=1800)


class Database:
    """One database (engine + media store) and the per-process caches of the services.

    ``media`` chooses the media back end (``folder`` or ``database``) instead of the setting ``HARMONYLAB_MEDIA``.
    """

    def __init__(self, url: str | None = None, directory: Path | str | None = None, *, upgrade: bool = True,
                 media: str | None = None):
        self.data_dir = (Path(directory) if directory is not None else data_dir()).resolve()
        self.url = url or database_url(self.data_dir)
        self.engine = make_engine(self.url)
        self.media: Media = open_media(self, media)
        self.lock = threading.Lock()
        self._write_turn = threading.Lock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        self.campaign_cache: dict[str, tuple[float, object]] = {}
        self.annotator_ids = BoundedCache(ANNOTATOR_CACHE)  # annotator key -> row id (bounded: ids are cheap)
        self.counts_cache: dict[int, tuple[float, object]] = {}
        self.limits = RateLimits()  # rate limits of this process (backend.store.limits)
        self.identity_root: tuple[str | None, str] | None = None  # (setting, root key) of annotator ids
        self._writer = None
        if upgrade:

            upgrade_to_head(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for queries (rolled back at the end)."""
        with Session(self.engine) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose transaction is committed when the block ends without an exception.

        The commit happens before the block's caller returns, so whatever is acknowledged afterwards is
        on disk.
        """
        with self._write_turn, Session(self.engine) as session:
            session.connection(execution_options={WRITE_OPTION: True})
            yield session
            session.commit()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection in autocommit mode for the hot-path reads (each a single statement, so no
        BEGIN / ROLLBACK round trips; cheaper than a Session)."""
        with self.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in a write transaction, committed when the block ends without an exception."""
        with self._write_turn, self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield connection

    @property
    def writer(self):
        """The group-commit writer of this database (:mod:`backend.store.writer`), started on first use."""
        if self._writer is None:
            with self.lock:
                if self._writer is None:

                    self._writer = GroupWriter(self)
        return self._writer

    def clear_caches(self) -> None:
        with self.lock:
            self.campaign_cache.clear()
            self.annotator_ids.clear()
            self.counts_cache.clear()
            self.limits.clear()
            self.identity_root = None

    def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()


_databases: dict[tuple[str, str, str | None], Database] = {}
_databases_lock = threading.Lock()
_by_settings: dict[int, tuple[settings.Settings, Database]] = {}


def default_database() -> Database:
    """The database named by the settings (opened and upgraded once per process)."""
    # Fast path of every request: the settings object already mapped to its open database.
    current = settings.current()
    known = _by_settings.get(id(current))
    if known is not None and known[0] is current:
        return known[1]
    key = (database_url(current.data_dir), str(current.data_dir), current.media)
    database = _databases.get(key)
    if database is None:
        with _databases_lock:
            database = _databases.get(key)
            if database is None:
                database = _databases[key] = Database(key[0], current.data_dir)
    _by_settings[id(current)] = (current, database)
    return database


def close_default_databases() -> None:
    """Dispose the engines opened by :func:`default_database` (tests, or before forking)."""
    with _databases_lock:
        for database in _databases.values():
            database.dispose()
        _databases.clear()
        _by_settings.clear()
