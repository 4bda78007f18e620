"""The proxy's own sqlite database (`proxy.sqlite` in the cache directory).

Tables: `paths` (archive path -> body), `objects` (body sha256 -> size, last use, for LRU),
`counters` (cumulative stats) and `checked` (when an index URL was last validated upstream).
requests-cache keeps index bodies in its own file (`index.sqlite`).

Locking: one connection per `Database`, used under a lock by the threads of one process;
WAL mode and a busy timeout let several processes share the file. Multi-statement updates
run in `transaction()` (BEGIN IMMEDIATE), so two processes never interleave them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

Row = tuple[Any, ...]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS paths (
    key TEXT PRIMARY KEY, sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL, last_modified TEXT NOT NULL, etag TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS paths_by_sha256 ON paths (sha256);
CREATE TABLE IF NOT EXISTS objects (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, last_used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checked (url TEXT PRIMARY KEY, at REAL NOT NULL);
"""


class Database:
    """`proxy.sqlite`, opened once per ObjectStore/stats reader; `close()` may be called twice."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("proxy database is closed")
        return self._db

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one statement and return its rows."""
        with self._lock:
            return list(self._conn().execute(sql, params).fetchall())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and a write transaction; commit at the end, roll back on error."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
