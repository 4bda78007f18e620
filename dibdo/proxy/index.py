"""Index files (everything not immutable) through requests-cache, frozen in the index window.

requests-cache (`index.sqlite`) stores the bodies and their validators and never expires them
by itself. This module decides when to ask upstream: an index validated upstream less than
`window` seconds ago (by any process sharing the cache dir; table `checked`) is served without
asking, so every request of a build sees the same index and keys stay stable. After the
window, or on the first request of a URL when `refresh` is set, it is revalidated with a
conditional GET (304 keeps the stored body). When upstream fails (unreachable, 5xx) or
`offline` is set, the stored copy is served whatever its age; `fetch()` yields None when
there is none. Client cache directives (apt's `Cache-Control: max-age=0`) are not forwarded:
the window is the policy. Bodies over `max_body` bytes are streamed through, not stored.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import requests
from requests_cache import NEVER_EXPIRE, CachedSession
from requests_cache.backends.sqlite import SQLiteCache

from dibdo import log
from dibdo.proxy._db import Database
from dibdo.proxy._dial import Dialer, mount
from dibdo.proxy.objects import BodyHeaders

_TIMEOUT = (15.0, 60.0)
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class IndexReply:
    """What to send back for an index request."""

    status: int
    reason: str
    headers: BodyHeaders
    length: int | None
    chunks: Iterable[bytes]
    body: bytes | None  # the whole body when it came from (or went into) the cache
    from_cache: bool  # True when upstream sent no body for this request


class IndexCache:
    """Index files by URL. Order: construct, fetch() per request, close()."""

    def __init__(
        self,
        cache_dir: Path,
        db: Database,
        dialer: Dialer,
        *,
        via: str,
        offline: bool = False,
        window: float = 86400.0,
        refresh: bool = False,
        max_body: int = 64 * 2**20,
    ) -> None:
        self._db = db
        self.offline, self.window, self.refresh = offline, window, refresh
        self._refreshed: set[str] = set()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        backend = SQLiteCache(cache_dir / "index.sqlite", wal=True, busy_timeout=30000)
        self._http = CachedSession(
            backend=backend,
            expire_after=NEVER_EXPIRE,
            stale_if_error=True,
            allowable_codes=(200,),
            allowable_methods=("GET",),
            filter_fn=lambda response: _declared_size(response) <= max_body,
        )
        mount(self._http, dialer, via=via)

    def __enter__(self) -> IndexCache:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()  # type: ignore[no-untyped-call]

    @contextlib.contextmanager
    def fetch(self, url: str) -> Iterator[IndexReply | None]:
        """The reply for `url`, or None when upstream failed and nothing is stored."""
        with self._lock_for(url):  # one upstream request per URL at a time in this process
            response = self._get(url)
        if response is None:
            yield None
            return
        with response:
            yield _reply(response)

    def _get(self, url: str) -> requests.Response | None:
        if self.offline:
            return self._stored(url)
        if self._fresh(url):
            stored = self._stored(url)
            if stored is not None:
                return stored
        try:
            response = self._http.get(url, refresh=True, stream=True, timeout=_TIMEOUT)
            if _from_cache(response) and not getattr(response, "revalidated", False):
                # stored without validators: a conditional GET is impossible, fetch it again
                response = self._http.get(url, force_refresh=True, stream=True, timeout=_TIMEOUT)
        except requests.RequestException as exc:
            log.debug(f"proxy: {url}: upstream failed ({exc}); serving the stored copy")
            return self._stored(url)
        if response.status_code >= 500:
            stored = self._stored(url)
            if stored is not None:
                response.close()
                return stored
        elif response.status_code in (200, 304):
            self._mark_checked(url)
        return response

    def _stored(self, url: str) -> requests.Response | None:
        response = self._http.get(url, only_if_cached=True)
        return None if response.status_code == 504 else response

    def _fresh(self, url: str) -> bool:
        if self.refresh and url not in self._refreshed:
            return False
        rows = self._db.query("SELECT at FROM checked WHERE url = ?", (url,))
        return bool(rows) and time.time() - float(rows[0][0]) < self.window

    def _mark_checked(self, url: str) -> None:
        self._refreshed.add(url)
        with self._db.transaction() as db:
            db.execute("INSERT OR REPLACE INTO checked VALUES (?, ?)", (url, time.time()))

    def _lock_for(self, url: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(url, threading.Lock())


def _declared_size(response: requests.Response) -> int:
    """The Content-Length upstream declared (0 when absent: such bodies are stored)."""
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else 0


def _from_cache(response: requests.Response) -> bool:
    return bool(getattr(response, "from_cache", False))


def _reply(response: requests.Response) -> IndexReply:
    h = response.headers
    headers = BodyHeaders(
        h.get("Content-Type", "application/octet-stream"),
        h.get("Last-Modified", ""),
        h.get("ETag", ""),
    )
    from_cache = _from_cache(response)
    if from_cache or getattr(response, "cache_key", None):
        body = response.content
        chunks: Iterable[bytes] = (body,)
        return IndexReply(response.status_code, response.reason, headers, len(body), chunks,
                          body, from_cache)  # fmt: skip
    size = _declared_size(response) if "Content-Length" in h else None
    stream = response.raw.stream(_CHUNK, decode_content=False)
    return IndexReply(response.status_code, response.reason, headers, size, stream, None, False)
