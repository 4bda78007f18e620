"""HTTP transfers for the remote cache: streamed, hash-checked, resumable downloads,
streamed uploads, and the bookkeeping around them (transfer stats, warn-once).

Every function here raises `RemoteFault` (or lets a `requests` exception through, which
`fault()` classifies) for whatever the remote or the link to it did wrong;
`dibdo.store.remote` turns those into one warning per kind and a cache miss.

A download streams into a partial file next to its destination (`partial_path()`),
hashing as it writes, and renames it into place only when the sha256 matches. The partial
file is locked with flock so that two processes fetching the same object do not share it
(the loser uses a private temp file). A partial file left by a killed build is resumed
with a Range request, and so is one cut short by a dropped connection; on any failure the
partial file is removed, so a destination is either absent or verified.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import requests

from dibdo import log
from dibdo.run import retry

# Small enough that a dropped connection loses little of what arrived (a read cut short by
# the drop is lost whole and fetched again by the resuming Range request).
CHUNK = 1 << 16
ATTEMPTS = 3
OCTET_STREAM = {"Content-Type": "application/octet-stream"}
# Raw bytes only: a transparently decoded body could not be resumed or hashed as stored.
_IDENTITY = {"Accept-Encoding": "identity"}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-")


class Direction(enum.StrEnum):
    """Which way a transfer went."""

    DOWNLOAD = "download"
    UPLOAD = "upload"


@dataclass(frozen=True)
class TransferStat:
    """One transfer, for the build report: `what` is the remote path (`cas/<sha256>`)."""

    direction: Direction
    what: str
    bytes: int
    seconds: float
    ok: bool


class RemoteFault(Exception):
    """The remote or the link to it failed; `kind` groups faults for warn-once."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Dropped(Exception):
    """The connection dropped mid-body after some bytes arrived: worth resuming."""


def fault(exc: BaseException, what: str) -> RemoteFault:
    """Classify an exception raised while talking to the remote."""
    if isinstance(exc, RemoteFault):
        return exc
    if isinstance(exc, requests.ConnectTimeout):
        kind = "unreachable"
    elif isinstance(exc, requests.Timeout):
        kind = "timeout"
    elif isinstance(exc, requests.ConnectionError):
        kind = "unreachable"
    elif isinstance(exc, requests.RequestException):
        kind = "transfer error"
    else:
        kind = "local I/O error"
    return RemoteFault(kind, f"{what}: {exc}")


def check_status(resp: requests.Response, what: str) -> None:
    """Raise RemoteFault unless the reply is a success."""
    code = resp.status_code
    if code in (200, 201, 204, 206):
        return
    if code == 404:
        kind = "missing object"
    elif code in (401, 403):
        kind = "access refused"
    elif code >= 500:
        kind = "server error"
    else:
        kind = "unexpected reply"
    raise RemoteFault(kind, f"{what}: HTTP {code} {resp.reason}")


def head(session: requests.Session, url: str, *, timeout: float) -> bool:
    """True when the remote holds `url`, False when it says 404."""
    with session.head(url, timeout=timeout, allow_redirects=True) as resp:
        if resp.status_code == 404:
            return False
        check_status(resp, url)
        return True


def get_bytes(session: requests.Session, url: str, *, limit: int, timeout: float) -> bytes | None:
    """A small body (a record), or None on 404; a body over `limit` bytes is a fault."""
    body = bytearray()
    with session.get(url, headers=_IDENTITY, stream=True, timeout=timeout) as resp:
        if resp.status_code == 404:
            return None
        check_status(resp, url)
        for chunk in resp.iter_content(CHUNK):
            body += chunk
            if len(body) > limit:
                raise RemoteFault("garbage", f"{url}: reply larger than {limit} bytes")
    return bytes(body)


def put_bytes(session: requests.Session, url: str, data: bytes, *, timeout: float) -> int:
    """PUT a small body; return its size."""
    with session.put(url, data=data, headers=OCTET_STREAM, timeout=timeout) as resp:
        check_status(resp, url)
    return len(data)


def put_file(session: requests.Session, url: str, path: Path, *, timeout: float) -> int:
    """PUT a file, streamed from disk (never read whole); return its size."""
    with path.open("rb") as body:
        size = os.fstat(body.fileno()).st_size
        with session.put(url, data=body, headers=OCTET_STREAM, timeout=timeout) as resp:
            check_status(resp, url)
    return size


def partial_path(dest: Path, sha256: str) -> Path:
    """Where a download of `sha256` to `dest` collects its bytes until verified."""
    return dest.with_name(f".{dest.name}.{sha256[:16]}.part")


def download(
    session: requests.Session, url: str, dest: Path, sha256: str, *, timeout: float
) -> int:
    """Fetch `url` to `dest` if its body hashes to `sha256`; return the bytes received."""
    with _Partial(partial_path(dest, sha256)) as part:
        try:
            retry(
                f"download of {url}",
                lambda: _attempt(session, url, part, timeout),
                attempts=ATTEMPTS,
                on=_Dropped,
            )
        except _Dropped as exc:
            raise RemoteFault("truncated", f"{url}: {exc}") from None
        if part.hasher.hexdigest() != sha256:
            raise RemoteFault("corrupt", f"{url}: body does not match its sha256, rejected")
        part.commit(dest)
        return part.received


def _attempt(session: requests.Session, url: str, part: _Partial, timeout: float) -> None:
    offset = part.size
    headers = dict(_IDENTITY, Range=f"bytes={offset}-") if offset else _IDENTITY
    with session.get(url, headers=headers, stream=True, timeout=timeout) as resp:
        if resp.status_code == 416 and offset:
            return  # the partial file already holds the whole body; the hash decides
        check_status(resp, url)
        if not _resumes_at(resp, offset):
            part.restart()
        length = resp.headers.get("Content-Length")
        got = 0
        try:
            for chunk in resp.iter_content(CHUNK):
                part.write(chunk)
                got += len(chunk)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            _dropped(url, got, exc)
        if length is not None and length.isdigit() and got < int(length):
            _dropped(url, got, f"body ended after {got} of {length} bytes")


def _dropped(url: str, got: int, why: object) -> None:
    if got == 0:
        raise RemoteFault("truncated", f"{url}: {why}")
    raise _Dropped(f"connection dropped after {got} bytes ({why})")


def _resumes_at(resp: requests.Response, offset: int) -> bool:
    if resp.status_code != 206:
        return offset == 0
    match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
    return match is not None and int(match.group(1)) == offset


class _Partial:
    """A locked partial file and the sha256 of what it holds.

    Order of use: `with _Partial(path) as part:` -> `write()`/`restart()` -> `commit(dest)`;
    leaving the block without a commit removes the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hasher = hashlib.sha256()
        self.received = 0
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> _Partial:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _lock_still_linked(fd, self.path):
            os.close(fd)  # someone else is fetching into it: use a private file instead
            fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f"{self.path.name}.")
            self.path = Path(name)
        self._fh = os.fdopen(fd, "r+b")
        for block in iter(lambda: self._file.read(CHUNK), b""):
            self.hasher.update(block)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            self.path.unlink(missing_ok=True)
            fh.close()

    @property
    def _file(self) -> IO[bytes]:
        assert self._fh is not None, "partial file used outside its with block"
        return self._fh

    @property
    def size(self) -> int:
        return self._file.tell()

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.hasher.update(chunk)
        self.received += len(chunk)

    def restart(self) -> None:
        """The server sent the whole body again: drop what we had."""
        self._file.seek(0)
        self._file.truncate()
        self.hasher = hashlib.sha256()

    def commit(self, dest: Path) -> None:
        """Flush, rename into place (still holding the lock), then close."""
        fh, self._fh = self._file, None
        with fh:
            fh.flush()
            os.fsync(fh.fileno())
            os.replace(self.path, dest)


def _lock_still_linked(fd: int, path: Path) -> bool:
    """Lock `fd`; False when another process holds it or has since unlinked the file."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return os.fstat(fd).st_ino == path.stat().st_ino
    except (BlockingIOError, FileNotFoundError):
        return False


@dataclass
class Meter:
    """What a measured block moved; `skip` leaves it out of the stats (a 404 probe)."""

    bytes: int = 0
    skip: bool = False


class TransferLog:
    """Thread-safe list of TransferStat, and the remote's warn-once memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: list[TransferStat] = []
        self._warned: set[str] = set()

    @contextlib.contextmanager
    def measure(self, direction: Direction, what: str) -> Iterator[Meter]:
        """Time the block and record a TransferStat (ok unless the block raised)."""
        meter = Meter()
        start = time.monotonic()
        ok = False
        try:
            yield meter
            ok = True
        finally:
            stat = TransferStat(direction, what, meter.bytes, time.monotonic() - start, ok)
            with self._lock:
                if not meter.skip:
                    self._stats.append(stat)

    def stats(self) -> list[TransferStat]:
        with self._lock:
            return list(self._stats)

    def warn_once(self, kind: str, message: str) -> None:
        """Warn about the first fault of each kind; later ones go to the debug log."""
        with self._lock:
            first = kind not in self._warned
            self._warned.add(kind)
        (log.warn if first else log.debug)(f"remote cache: {message}")
