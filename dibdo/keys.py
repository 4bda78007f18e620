"""Content keys: the one function that computes every task key, and tree hashing.

A key is xxh3-128 over a canonical JSON encoding (sorted keys, no whitespace) of a
versioned dictionary: the task kind, the parent key(s), the options, the digests of every
script and file read, the environment the step sees and the version of the step's code.
`key_inputs()` keeps that dictionary so that a miss can explain itself (`dibdo explain`).

Deliberately left out of every key: the package proxy's URL (a build through another
proxy gets the same packages), an element's directory *location* (only its name and its
tree's content count), and the cache directory.

Tree digests hash each entry's relative path, file type, mode, symlink target and content.
File digests are memoised by (path, size, mtime_ns, inode, ctime_ns) in a `StatMemo`,
persisted in the cache, so an unchanged tree is not re-read.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

ENCODING_VERSION = 1
_CHUNK = 1 << 20


def canonical(value: Any) -> bytes:
    """The canonical encoding of a JSON-able value: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_bytes(data: bytes) -> str:
    """xxh3-128 hex digest of bytes."""
    return xxhash.xxh3_128_hexdigest(data)


@dataclass(frozen=True)
class Key:
    """A task key: its hex digest and the inputs it was computed from."""

    kind: str
    digest: str
    inputs: Mapping[str, Any] = field(compare=False, repr=False)

    def __str__(self) -> str:
        return self.digest


def compute_key(kind: str, *, code_version: int, **inputs: Any) -> Key:
    """The key of a task of `kind` whose result depends on `inputs` and nothing else."""
    record = {"encoding": ENCODING_VERSION, "kind": kind, "code": code_version, **inputs}
    return Key(kind, digest_bytes(canonical(record)), record)


class StatMemo:
    """File digests memoised by stat identity, persisted as JSON in the cache directory.

    Safe for threads; two processes may share the file (last writer wins, a lost entry only
    costs a re-read).
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._memo: dict[str, list[Any]] = {}
        self._dirty = False
        if path is not None and path.exists():
            try:
                self._memo = json.loads(path.read_text())
            except (OSError, ValueError):
                self._memo = {}

    def file_digest(self, path: Path, st: os.stat_result | None = None) -> str:
        """The content digest of a regular file, read only when its stat changed."""
        st = st or path.stat()
        ident = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        name = os.fspath(path)
        with self._lock:
            hit = self._memo.get(name)
            if hit is not None and hit[:4] == ident:
                return str(hit[4])
        digest = _read_digest(path)
        with self._lock:
            self._memo[name] = [*ident, digest]
            self._dirty = True
        return digest

    def save(self) -> None:
        """Write the memo back, atomically, if anything changed."""
        if self._path is None or not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
        with self._lock:
            tmp.write_text(json.dumps(self._memo, separators=(",", ":")))
            self._dirty = False
        os.replace(tmp, self._path)


def _read_digest(path: Path) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree_entries(root: Path, memo: StatMemo, *, exclude: frozenset[str] = frozenset()) -> list[Any]:
    """One [relpath, type, mode, payload] row per entry under `root`, sorted by path."""
    rows: list[Any] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if os.fspath((base / d).relative_to(root)) not in exclude
        )
        for name in sorted(dirnames + filenames):
            path = base / name
            rel = os.fspath(path.relative_to(root))
            if rel in exclude:
                continue
            rows.append([rel, *_entry(path, memo)])
    rows.sort(key=lambda row: row[0])
    return rows


def _entry(path: Path, memo: StatMemo) -> tuple[str, int, str]:
    st = path.lstat()
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return "link", mode, os.readlink(path)
    if stat.S_ISDIR(st.st_mode):
        return "dir", mode, ""
    if stat.S_ISREG(st.st_mode):
        return "file", mode, memo.file_digest(path, st)
    return "other", mode, f"{st.st_rdev}"


def tree_digest(root: Path, memo: StatMemo, *, exclude: frozenset[str] = frozenset()) -> str:
    """A digest of a whole tree: paths, types, modes, link targets and contents."""
    return digest_bytes(canonical(tree_entries(root, memo, exclude=exclude)))


def file_digest(path: Path, memo: StatMemo) -> str:
    """The content digest of one file (mode included), through the memo."""
    return digest_bytes(canonical(list(_entry(path, memo))))
