"""The content-addressed store of immutable bodies, with an LRU index shared by processes.

    cache_dir/
      objects/ab/<sha256>   bodies, named by the sha256 of their bytes, never modified
      tmp/<random>.part     downloads in progress; renamed into objects/ once verified
      locks/<xyz>           flock stripes: one download per archive path across processes
      proxy.sqlite          paths (archive path -> sha256, headers), objects (size, last use)

A body is published by rename after its length (and by-hash name) checked out, so a reader
sees a whole body or none. Eviction removes the least recently used bodies once the total
passes `size_limit`; a reader that already opened one keeps reading it after the unlink
(POSIX), and a row whose file vanished is dropped and reported as a miss.
The store owns its database; `close()` releases it and may be called twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from dibdo.proxy._db import Database

_STALE_PART = 3600.0  # seconds: a .part file nobody wrote to for this long is a dead download


@dataclass(frozen=True)
class BodyHeaders:
    """The upstream headers a stored body is served with again."""

    content_type: str = "application/octet-stream"
    last_modified: str = ""
    etag: str = ""


@dataclass(frozen=True)
class StoredObject:
    """One archive path's body in the store."""

    key: str
    sha256: str
    size: int
    headers: BodyHeaders


class ObjectStore:
    """Bodies by archive path. Order: open (constructor), lookup/open/commit, close."""

    def __init__(self, cache_dir: Path, *, size_limit: int) -> None:
        self.root = cache_dir
        self.size_limit = size_limit
        for sub in ("objects", "tmp", "locks"):
            (cache_dir / sub).mkdir(parents=True, exist_ok=True)
        self.db = Database(cache_dir / "proxy.sqlite")
        self._reap_parts()

    def __enter__(self) -> ObjectStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def path_of(self, sha256: str) -> Path:
        return self.root / "objects" / sha256[:2] / sha256

    def lookup(self, key: str) -> StoredObject | None:
        rows = self.db.query(
            "SELECT p.sha256, o.size, p.content_type, p.last_modified, p.etag"
            " FROM paths p JOIN objects o ON o.sha256 = p.sha256 WHERE p.key = ?",
            (key,),
        )
        if not rows:
            return None
        sha, size, ctype, modified, etag = rows[0]
        return StoredObject(key, sha, int(size), BodyHeaders(ctype, modified, etag))

    def open(self, key: str) -> tuple[StoredObject, BinaryIO] | None:
        """The stored body of `key`, opened for reading and marked as used; None on a miss."""
        obj = self.lookup(key)
        if obj is None:
            return None
        try:
            f = open(self.path_of(obj.sha256), "rb")  # noqa: SIM115 (the caller closes it)
        except FileNotFoundError:
            self._forget(obj.sha256)
            return None
        if os.fstat(f.fileno()).st_size != obj.size:
            f.close()
            self._forget(obj.sha256)
            return None
        now = time.time()
        self.db.query("UPDATE objects SET last_used = ? WHERE sha256 = ?", (now, obj.sha256))
        return obj, f

    def staging(self) -> tuple[Path, int]:
        """A new, empty `.part` file for a download: its path and a read-write descriptor."""
        fd, name = tempfile.mkstemp(dir=self.root / "tmp", suffix=".part")
        return Path(name), fd

    def commit(
        self, key: str, part: Path, *, sha256: str, size: int, headers: BodyHeaders
    ) -> StoredObject:
        """Publish a verified download under `key` (rename, index, evict); `part` is consumed."""
        final = self.path_of(sha256)
        final.parent.mkdir(exist_ok=True)
        os.chmod(part, 0o644)
        os.replace(part, final)
        with self.db.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO objects (sha256, size, last_used) VALUES (?, ?, ?)",
                (sha256, size, time.time()),
            )
            db.execute(
                "INSERT OR REPLACE INTO paths VALUES (?, ?, ?, ?, ?)",
                (key, sha256, headers.content_type, headers.last_modified, headers.etag),
            )
        self.evict(keep=sha256)
        return StoredObject(key, sha256, size, headers)

    def evict(self, *, keep: str = "") -> int:
        """Drop least recently used bodies until the total fits `size_limit`; bytes freed."""
        victims: list[str] = []
        freed = 0
        with self.db.transaction() as db:
            total = int(db.execute("SELECT COALESCE(SUM(size), 0) FROM objects").fetchone()[0])
            rows = db.execute("SELECT sha256, size FROM objects ORDER BY last_used").fetchall()
            for sha, size in rows:
                if total - freed <= self.size_limit:
                    break
                if sha != keep:
                    victims.append(sha)
                    freed += int(size)
            for sha in victims:
                db.execute("DELETE FROM paths WHERE sha256 = ?", (sha,))
                db.execute("DELETE FROM objects WHERE sha256 = ?", (sha,))
        for sha in victims:
            self.path_of(sha).unlink(missing_ok=True)
        return freed

    def usage(self) -> tuple[int, int]:
        """(number of stored bodies, their total bytes)."""
        count, total = self.db.query("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM objects")[0]
        return int(count), int(total)

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the cross-process lock for downloading `key` (one of 4096 stripes)."""
        stripe = hashlib.sha256(key.encode()).hexdigest()[:3]
        fd = os.open(self.root / "locks" / stripe, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _forget(self, sha256: str) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM paths WHERE sha256 = ?", (sha256,))
            db.execute("DELETE FROM objects WHERE sha256 = ?", (sha256,))

    def _reap_parts(self) -> None:
        cutoff = time.time() - _STALE_PART
        for part in (self.root / "tmp").glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()
