"""A fake package archive on loopback for the proxy tests, and a client that goes through
the proxy. Plain module, imported by tests/test_proxy_*.py:

    with FakeArchive({"/debian/pool/a.deb": body}) as archive, proxy_for(tmp_path, archive) as p:
        r = get(p, f"{ARCHIVE}/debian/pool/a.deb")
        assert archive.count("/debian/pool/a.deb") == 1

The archive serves bytes by path with Last-Modified and ETag, answers If-None-Match with
304, can fail every request (`fail_with`), send bodies slowly (`slow`: seconds per 64 KiB)
and cut chosen bodies short (`truncate`), and records every request it got. Proxies reach it
as `archive.test` (and `mirror.test`) through ProxyServer's `resolve` overrides, as they
would reach a mirror.
"""

from __future__ import annotations

import hashlib
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from dibdo.proxy import ProxyServer

ARCHIVE = "http://archive.test"
MIRROR = "http://mirror.test"


def blob(size: int, seed: int = 1) -> bytes:
    """`size` reproducible pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


@dataclass(frozen=True)
class Seen:
    """One request the archive got."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class _Entry:
    body: bytes
    modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class FakeArchive:
    """The fake upstream archive (a context manager: serving inside the block)."""

    def __init__(self, files: dict[str, bytes] | None = None, *, slow: float = 0.0) -> None:
        self._files = {path: _Entry(body) for path, body in (files or {}).items()}
        self.slow = slow
        self.truncate: set[str] = set()
        self.fail_with = 0  # when set, every request is answered with this status
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,))

    def __enter__(self) -> FakeArchive:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def put(self, path: str, body: bytes) -> None:
        """Publish (or change) a file; its Last-Modified moves on by a second at least."""
        with self._lock:
            old = self._files.get(path)
            stamp = max(time.time(), old.modified + 1) if old else time.time()
            self._files[path] = _Entry(body, stamp)

    def entry(self, path: str) -> _Entry | None:
        with self._lock:
            return self._files.get(path)

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def count(self, path: str) -> int:
        """How many requests for `path` reached the archive."""
        with self._lock:
            return sum(1 for s in self.seen if s.path == path)


def _handler_for(archive: FakeArchive) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            archive.record(Seen("GET", self.path, dict(self.headers.items())))
            entry = archive.entry(self.path)
            if archive.fail_with or entry is None:
                self._head(archive.fail_with or 404, 0)
                return
            if self.headers.get("If-None-Match") == entry.etag:
                self._head(304, None, entry)
                return
            self._head(200, len(entry.body), entry)
            self._body(entry.body, cut=self.path in archive.truncate)

        def _head(self, status: int, length: int | None, entry: _Entry | None = None) -> None:
            self.send_response(status)
            if entry is not None:
                self.send_header("Last-Modified", formatdate(entry.modified, usegmt=True))
                self.send_header("ETag", entry.etag)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()

        def _body(self, body: bytes, *, cut: bool) -> None:
            end = len(body) // 2 if cut else len(body)
            for start in range(0, end, 65536):
                self.wfile.write(body[start : min(start + 65536, end)])
                time.sleep(archive.slow)
            if cut:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def proxy_for(cache: Path, *archives: FakeArchive, **options: Any) -> ProxyServer:
    """A ProxyServer on `cache` that reaches `archive.test` (and `mirror.test`, the second
    archive if given, else the same one) at the fake archives."""
    second = archives[1] if len(archives) > 1 else archives[0]
    resolve = {"archive.test": archives[0].authority, "mirror.test": second.authority}
    return ProxyServer(cache, resolve=resolve, **options)


def closed_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(proxy: ProxyServer, url: str, **headers: str) -> requests.Response:
    """GET `url` through `proxy` (headers given with underscores: If_None_Match=...)."""
    with requests.Session() as s:
        s.trust_env = False
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        return s.get(url, proxies={"http": proxy.url}, headers=sent, timeout=30)
