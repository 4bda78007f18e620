"""The local content-addressed store: one directory per task result, indexed with diskcache.

    CACHE_DIR/
      entries/<key>/meta.json    what the task produced (kind, files, digests, outcome data)
      entries/<key>/tree/        a layer: the overlay upper directory of a step, unpacked
      entries/<key>/<file>       other results (disk.raw, image.qcow2, manifest.json, ...)
      staging/<key>.<random>/    a result being made; renamed to entries/<key> on success
      index/                     diskcache: key -> {kind, size, last_use}; LRU eviction order
      logs/<key>.log             the log of the step that made <key>
      statmemo.json              file digests memoised by stat (see keys.StatMemo)

Locking: a result is committed by one `rename()` of its staging directory; a second
builder racing on the same key finds `entries/<key>` taken, discards its own copy and uses
the winner's. `meta.json` is written inside the staging directory before the rename, so an
entry without it never exists. Eviction skips keys pinned by a running build. The index
is a diskcache (sqlite, safe for several processes).

Who frees what: `Store` owns the layers it hands out (mounted views join its ExitStack);
`close()` releases them all. A failed `stage()` removes its staging directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache

from dibdo import log
from dibdo.errors import CacheError
from dibdo.run import run


@dataclass(frozen=True)
class Entry:
    """A committed result: its key, kind, directory and metadata."""

    key: str
    kind: str
    path: Path
    meta: Mapping[str, Any]

    @property
    def tree(self) -> Path:
        return self.path / "tree"


@dataclass(frozen=True)
class CacheStats:
    """What `dibdo cache stats` prints."""

    entries: int
    bytes: int
    by_kind: Mapping[str, int]
    limit: int


class Staging:
    """A result being made: write into `path`, then `commit()` is done by `Store.stage()`."""

    def __init__(self, path: Path, key: str, kind: str) -> None:
        self.path = path
        self.key = key
        self.kind = kind
        self.meta: dict[str, Any] = {}

    @property
    def tree(self) -> Path:
        return self.path / "tree"


class Store:
    """Content-addressed results under one cache directory.

    Order of use: `Store(root)` -> `has()`/`get()`/`stage()` any number of times ->
    `close()` (or use it as a context manager).
    """

    def __init__(self, root: Path, *, size_limit: int = 50 * 2**30) -> None:
        self.root = root
        self.size_limit = size_limit
        for sub in ("entries", "staging", "logs"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._index = diskcache.Cache(os.fspath(root / "index"))
        self._pinned: set[str] = set()
        self.resources = contextlib.ExitStack()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release every resource handed out, then the index. Safe to call twice."""
        resources, self.resources = self.resources, contextlib.ExitStack()
        resources.close()
        index, self._index = self._index, None
        if index is not None:
            index.close()

    def entry_dir(self, key: str) -> Path:
        return self.root / "entries" / key

    def log_path(self, key: str) -> Path:
        return self.root / "logs" / f"{key}.log"

    def has(self, key: str) -> bool:
        """True when `key` is committed locally."""
        return (self.entry_dir(key) / "meta.json").is_file()

    def get(self, key: str) -> Entry:
        """The committed entry for `key`; marks it used (LRU) and pins it for this build."""
        path = self.entry_dir(key)
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError) as exc:
            raise CacheError(f"cache entry {key} is missing or damaged: {exc}") from None
        self._pinned.add(key)
        self._touch(key, meta)
        return Entry(key, str(meta.get("kind", "")), path, meta)

    def _touch(self, key: str, meta: Mapping[str, Any]) -> None:
        if self._index is not None:
            record = {
                "kind": meta.get("kind"),
                "size": meta.get("size", 0),
                "last_use": time.time(),
            }
            self._index.set(key, record)

    @contextlib.contextmanager
    def stage(self, key: str, kind: str) -> Iterator[Staging]:
        """A staging directory for `key`; committed when the block succeeds, else removed."""
        tmp = self.root / "staging" / f"{key}.{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        staging = Staging(tmp, key, kind)
        try:
            yield staging
            self._commit(staging)
        finally:
            if tmp.exists():
                remove_tree(tmp)

    def _commit(self, staging: Staging) -> None:
        meta = {
            **staging.meta,
            "kind": staging.kind,
            "key": staging.key,
            "size": tree_size(staging.path),
            "created": time.time(),
        }
        (staging.path / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        try:
            os.rename(staging.path, self.entry_dir(staging.key))
        except OSError:
            if not self.has(staging.key):
                raise
            log.debug(f"{staging.key} was committed by another build; using theirs")
        self._pinned.add(staging.key)
        self._touch(staging.key, meta)
        self.evict()

    def evict(self) -> list[str]:
        """Remove least recently used entries until the store fits its size limit."""
        if self._index is None:
            return []
        rows = sorted(
            ((self._index.get(k) or {}, k) for k in list(self._index)),
            key=lambda row: float(row[0].get("last_use", 0)),
        )
        total = sum(int(r.get("size", 0)) for r, _ in rows)
        removed: list[str] = []
        for record, key in rows:
            if total <= self.size_limit:
                break
            if key in self._pinned:
                continue
            self.remove(key)
            total -= int(record.get("size", 0))
            removed.append(key)
        return removed

    def remove(self, key: str) -> None:
        """Drop one entry (its directory is renamed away first, so readers never see half)."""
        path = self.entry_dir(key)
        if path.exists():
            doomed = self.root / "staging" / f"{key}.deleted.{uuid.uuid4().hex[:8]}"
            os.rename(path, doomed)
            remove_tree(doomed)
        if self._index is not None:
            self._index.pop(key, None)

    def stats(self) -> CacheStats:
        by_kind: dict[str, int] = {}
        total = 0
        for meta_file in (self.root / "entries").glob("*/meta.json"):
            meta = json.loads(meta_file.read_text())
            by_kind[meta.get("kind", "?")] = by_kind.get(meta.get("kind", "?"), 0) + 1
            total += int(meta.get("size", 0))
        return CacheStats(sum(by_kind.values()), total, by_kind, self.size_limit)

    def prune(self, limit: int) -> list[str]:
        """Evict down to `limit` bytes now."""
        self.size_limit = limit
        return self.evict()

    def clear(self) -> None:
        """Remove every entry."""
        for path in list((self.root / "entries").iterdir()):
            self.remove(path.name)


def tree_size(path: Path) -> int:
    """Bytes used by a tree (allocated blocks, so sparse disks count what they hold)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def remove_tree(path: Path) -> None:
    """Remove a tree, including read-only dirs and files with immutable-looking modes."""
    if path.is_dir() and not path.is_symlink():
        run(["rm", "-rf", "--one-file-system", path])
    else:
        path.unlink(missing_ok=True)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write JSON atomically (temp + rename)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def copy_out(src: Path, dest: Path) -> None:
    """Copy a result out of the store (reflink where the file system allows, sparse)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}")
    try:
        run(["cp", "--reflink=auto", "--sparse=always", src, tmp])
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["Entry", "Staging", "Store", "copy_out", "remove_tree", "write_json"]
