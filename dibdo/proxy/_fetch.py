"""Shared downloads of immutable bodies: one upstream GET per archive path, however many
clients ask for it meanwhile.

`Downloads.join(target)` returns the download in flight for the target's key, or starts one
on its own thread. The fetch thread writes the body to a staging file in the store; clients
`wait_answer()`, then `follow()` the file as it grows (each through its own dup() of the
descriptor, so the rename into the store does not disturb them). The body is committed only
when its length matches Content-Length (and a by-hash body its name); otherwise the download
fails, followers are cut off mid-body (the client sees a short body, never a wrong one) and
nothing is stored. Across processes, the store's per-key lock makes a second process wait
for the first one's download and then find the body in the store.
`Downloads.close()` cancels what is in flight and joins the fetch threads.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from dibdo import log
from dibdo.proxy.objects import BodyHeaders, ObjectStore, StoredObject
from dibdo.proxy.rules import Target
from dibdo.proxy.stats import ProxyStats, StatsRecorder

CHUNK = 256 * 1024
STALL = 120.0  # seconds a follower waits for new bytes before giving up
_TIMEOUT = (15.0, 60.0)  # upstream connect, read


class State(enum.Enum):
    CONNECTING = "connecting"  # no answer from upstream yet
    STREAMING = "streaming"  # 200: the body is arriving in the staging file
    STORED = "stored"  # the body is complete and in the store
    ANSWERED = "answered"  # upstream answered something else (404, ...): passed on, not stored
    FAILED = "failed"  # unreachable, cut short, corrupt or cancelled: nothing stored


class DownloadFailed(Exception):
    """The shared download failed after its body started."""


@dataclass(frozen=True)
class Answer:
    """A non-200 upstream answer, passed on as it came."""

    status: int
    reason: str
    content_type: str
    body: bytes


class Download:
    """One upstream GET of an immutable body, shared by every client asking for it meanwhile."""

    def __init__(
        self, target: Target, store: ObjectStore, http: requests.Session, stats: StatsRecorder
    ) -> None:
        self.target = target
        self._store, self._http, self._stats = store, http, stats
        self._cond = threading.Condition()
        self._cancel = threading.Event()
        self.state = State.CONNECTING
        self.length: int | None = None  # Content-Length, when upstream sent one
        self.headers = BodyHeaders()
        self.written = 0
        self.stored: StoredObject | None = None
        self.answer: Answer | None = None
        self.error = ""
        self.upstream_bytes = 0
        self._fd = -1

    def run(self) -> None:
        """The fetch thread: download, verify and commit, or fail."""
        try:
            with self._store.lock(self.target.key):
                found = self._store.lookup(self.target.key)  # another process fetched it
                if found is not None:
                    self._finish(State.STORED, stored=found)
                else:
                    self._download()
        except Exception as exc:  # any failure: nothing stored, followers told why
            log.debug(f"proxy: download of {self.target.url} failed: {exc}")
            self._finish(State.FAILED, error=str(exc) or type(exc).__name__)

    def finished(self) -> bool:
        with self._cond:
            return self.state not in (State.CONNECTING, State.STREAMING)

    def cancel(self) -> None:
        self._cancel.set()

    def wait_answer(self, timeout: float = STALL) -> State:
        """Block until upstream answered (or failed); the state then."""
        with self._cond:
            self._cond.wait_for(lambda: self.state is not State.CONNECTING, timeout)
            return self.state

    def follow(self) -> Iterator[bytes]:
        """The body, chunk by chunk, as it arrives; raises DownloadFailed if it breaks off."""
        fd = self._reader()
        pos = 0
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(functools.partial(self._moved, pos), STALL)
                    end, state = self._available(), self.state
                if pos < end and state in (State.STREAMING, State.STORED):
                    chunk = os.pread(fd, min(CHUNK, end - pos), pos)
                    pos += len(chunk)
                    yield chunk
                elif state is State.STORED:
                    return
                else:
                    raise DownloadFailed(self.error or f"upstream stalled on {self.target.url}")
        finally:
            os.close(fd)

    def _moved(self, pos: int) -> bool:
        """New bytes past `pos`, or the download ended (call under the condition)."""
        return self._available() > pos or self.state is not State.STREAMING

    def _available(self) -> int:
        """Bytes a follower may send: all of them once stored; while streaming, all but the
        last byte, so that a body failing verification never reaches a client whole."""
        if self.state is State.STORED:
            return self.written
        if self.length is None:
            return max(self.written - 1, 0)
        return min(self.written, self.length - 1)

    def _reader(self) -> int:
        with self._cond:
            if self.state is State.STREAMING:
                return os.dup(self._fd)
            if self.state is State.STORED and self.stored is not None:
                try:
                    return os.open(self._store.path_of(self.stored.sha256), os.O_RDONLY)
                except FileNotFoundError:
                    pass  # evicted already
        raise DownloadFailed(self.error or f"no body for {self.target.url}")

    def _download(self) -> None:
        with self._http.get(self.target.url, stream=True, timeout=_TIMEOUT) as response:
            if response.status_code != 200:
                body = response.raw.read(64 * 1024, decode_content=False) or b""
                ctype = response.headers.get("Content-Type", "text/plain")
                answer = Answer(response.status_code, response.reason, ctype, body)
                self._finish(State.ANSWERED, answer=answer)
                return
            part, fd = self._store.staging()
            try:
                self._start(fd, response)
                digest = self._copy(fd, response)
                self._verify(digest)
                obj = self._store.commit(
                    self.target.key, part, sha256=digest, size=self.written, headers=self.headers
                )
                self._finish(State.STORED, stored=obj)
            except Exception as exc:
                self._finish(State.FAILED, error=str(exc) or type(exc).__name__)
                raise
            finally:
                with self._cond:
                    self._fd = -1  # followers dup() it only while STREAMING
                part.unlink(missing_ok=True)  # gone already when committed
                os.close(fd)

    def _start(self, fd: int, response: requests.Response) -> None:
        length = response.headers.get("Content-Length")
        with self._cond:
            self._fd = fd
            self.length = int(length) if length and length.isdigit() else None
            self.headers = BodyHeaders(
                response.headers.get("Content-Type", "application/octet-stream"),
                response.headers.get("Last-Modified", ""),
                response.headers.get("ETag", ""),
            )
            self.state = State.STREAMING
            self._cond.notify_all()

    def _copy(self, fd: int, response: requests.Response) -> str:
        digest = hashlib.sha256()
        for chunk in response.raw.stream(CHUNK, decode_content=False):
            if self._cancel.is_set():
                raise DownloadFailed(f"cancelled: {self.target.url}")
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
            digest.update(chunk)
            with self._cond:
                self.written += len(chunk)
                self.upstream_bytes += len(chunk)
                self._cond.notify_all()
        return digest.hexdigest()

    def _verify(self, digest: str) -> None:
        if self.length is not None and self.written != self.length:
            raise DownloadFailed(f"truncated: {self.written} of {self.length} bytes")
        path = self.target.key.split("?", 1)[0]
        if "/by-hash/SHA256/" in path and path.rsplit("/", 1)[1].lower() != digest:
            raise DownloadFailed(f"body does not match its by-hash name: {self.target.url}")

    def _finish(
        self,
        state: State,
        *,
        stored: StoredObject | None = None,
        answer: Answer | None = None,
        error: str = "",
    ) -> None:
        # counted before followers are released, so that a client that has the whole body
        # finds it in the stats
        fetched, self.upstream_bytes = self.upstream_bytes, 0
        if fetched:
            self._stats.add(ProxyStats(bytes_from_upstream=fetched))
        with self._cond:
            self.state, self.stored, self.answer, self.error = state, stored, answer, error
            if stored is not None:
                self.written = self.length = stored.size
                self.headers = stored.headers
            self._cond.notify_all()


class Downloads:
    """The downloads in flight in this process, by archive path; owner of the fetch threads."""

    def __init__(self, store: ObjectStore, http: requests.Session, stats: StatsRecorder) -> None:
        self._store, self._http, self._stats = store, http, stats
        self._lock = threading.Lock()
        self._active: dict[str, tuple[Download, threading.Thread]] = {}
        self._closed = False

    def join(self, target: Target) -> Download:
        """The download in flight for `target.key`, or a new one started on its own thread."""
        with self._lock:
            if self._closed:
                raise DownloadFailed("the proxy is shutting down")
            found = self._active.get(target.key)
            if found is not None and not found[0].finished():
                return found[0]  # a finished one is on its way out: answers may have changed
            download = Download(target, self._store, self._http, self._stats)
            thread = threading.Thread(
                target=self._run, args=(download,), name=f"fetch {target.key}", daemon=True
            )
            self._active[target.key] = (download, thread)
            thread.start()
            return download

    def _run(self, download: Download) -> None:
        try:
            download.run()
        finally:
            with self._lock:
                if self._active.get(download.target.key, (None,))[0] is download:
                    del self._active[download.target.key]

    def close(self, timeout: float = 10.0) -> None:
        """Cancel every download in flight and join the fetch threads."""
        with self._lock:
            self._closed = True
            active = list(self._active.values())
        for download, _ in active:
            download.cancel()
        for _, thread in active:
            thread.join(timeout)
