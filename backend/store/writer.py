"""Group commit: one writer thread per database turns answers arriving together into one transaction.

Every request thread hands its row to :meth:`GroupWriter.insert` and waits; the writer thread takes
whatever rows are waiting (up to ``MAX_BATCH``), inserts them one statement each inside a single
transaction, commits, and only then releases the waiting threads with their row ids. So the durability
contract is unchanged — an answer is acknowledged only after the commit that contains it — while one
commit (one fsync on PostgreSQL, one WAL append on SQLite) serves many answers, and request threads no
longer queue on the database's write lock.

Rows are inserted with ``ON CONFLICT DO NOTHING``: a row that collides with a UNIQUE constraint (a retried
client id, an already answered pair) gets ``None`` instead of an id and the caller looks up the stored
row. If a batch fails for another reason (say a foreign key), its rows are retried one transaction each,
so only the faulty row fails.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from sqlalchemy.dialects import postgresql, sqlite

MAX_BATCH = 256


@dataclass
class _Job:
    table: type
    values: dict
    done: threading.Event = field(default_factory=threading.Event)
    row_id: int | None = None
    error: BaseException | None = None


class GroupWriter:
    def __init__(self, database):
        self.database = database
        dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(database.engine.dialect.name)
        if dialect is None:
            raise RuntimeError(f"group commit supports SQLite and PostgreSQL, not {database.engine.dialect.name}")
        self._insert = dialect.insert
        self._statements: dict[type, object] = {}
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="harmonylab-group-writer", daemon=True)
        self._thread.start()

    def _statement(self, table):
        statement = self._statements.get(table)
        if statement is None:
            statement = self._statements[table] = self._insert(table).on_conflict_do_nothing().returning(table.id)
        return statement

    def insert(self, table, values: dict) -> int | None:
        """Insert one row; return its id once committed, or None when a UNIQUE constraint already holds it."""
        job = _Job(table, values)
        self._jobs.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.row_id

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _write(self, jobs: list[_Job]) -> None:
        with self.database.write_connection() as connection:
            for job in jobs:
                job.row_id = connection.execute(self._statement(job.table), job.values).scalar()

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(job)
            try:
                self._write(batch)
            except BaseException:
                for job in batch:  # isolate the faulty row: one transaction each
                    job.row_id = None
                    try:
                        self._write([job])
                    except BaseException as error:
                        job.error = error
            finally:
                for job in batch:
                    job.done.set()
