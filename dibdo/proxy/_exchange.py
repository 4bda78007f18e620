"""One request and its response on a client connection: status lines, conditional requests
(304), byte ranges (206/416) and body writing, for the serving modules.

A body whose length is unknown is sent close-delimited (the connection ends with it). A body
that breaks off after its headers went out is `abort()`ed: the connection is shut down so the
client sees it short, never padded or mixed with the next response.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import BinaryIO

from dibdo.proxy.objects import BodyHeaders


@dataclass(frozen=True)
class Plan:
    """Which part of a body of known size to send, and with which status."""

    status: int
    start: int
    length: int
    extra: tuple[tuple[str, str], ...] = ()

    def body_bytes(self, *, head: bool) -> int:
        """How many body bytes this plan sends (none for HEAD, 304 and 416)."""
        return 0 if head or self.status not in (200, 206) else self.length


class Exchange:
    """The response side of one request. Order: send_head() once, then write()/sendfile()."""

    def __init__(self, handler: BaseHTTPRequestHandler, *, head: bool) -> None:
        self._handler = handler
        self.head = head
        self.headers_sent = False

    @property
    def request_headers(self) -> Message:
        return self._handler.headers

    def send_head(
        self, status: int, headers: BodyHeaders | None, *, length: int | None,
        extra: Iterable[tuple[str, str]] = (), reason: str | None = None,
    ) -> None:  # fmt: skip
        """Status and headers; `length` None means close-delimited (or no body for 304)."""
        h = self._handler
        h.send_response(status, reason)
        if headers is not None:
            h.send_header("Content-Type", headers.content_type)
            for name, value in (("Last-Modified", headers.last_modified), ("ETag", headers.etag)):
                if value:
                    h.send_header(name, value)
        for name, value in extra:
            h.send_header(name, value)
        if length is not None:
            h.send_header("Content-Length", str(length))
        elif status != 304:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        self.headers_sent = True

    def write(self, chunk: bytes) -> None:
        if not self.head:
            self._handler.wfile.write(chunk)

    def sendfile(self, f: BinaryIO, start: int, length: int) -> int:
        """Send `length` bytes of `f` from `start` (zero-copy); the bytes sent."""
        if self.head or length == 0:
            return 0
        sock: socket.socket = self._handler.connection
        return sock.sendfile(f, start, length)

    def error(self, status: int, message: str) -> None:
        """A plain-text error response naming what failed."""
        body = (message + "\n").encode()
        headers = BodyHeaders(content_type="text/plain; charset=utf-8")
        self.send_head(status, headers, length=len(body))
        self.write(body)

    def abort(self) -> None:
        """Cut the connection after a body broke off."""
        self._handler.close_connection = True
        with contextlib.suppress(OSError):
            self._handler.connection.shutdown(socket.SHUT_RDWR)

    def plan(self, size: int, headers: BodyHeaders) -> Plan:
        """200, 206 or 416 for a Range, or 304 for a conditional request that still holds."""
        req = self.request_headers
        if _not_modified(req, headers):
            return Plan(304, 0, 0)
        spec = req.get("Range")
        if spec is None or not _if_range_holds(req.get("If-Range"), headers):
            return Plan(200, 0, size)
        span = parse_range(spec, size)
        if span is None:
            return Plan(200, 0, size)
        start, end = span
        if start >= size or start > end:
            return Plan(416, 0, 0, (("Content-Range", f"bytes */{size}"),))
        end = min(end, size - 1)
        content_range = ("Content-Range", f"bytes {start}-{end}/{size}")
        return Plan(206, start, end - start + 1, (content_range,))


def parse_range(spec: str, size: int) -> tuple[int, int] | None:
    """One `bytes=a-b`, `bytes=a-` or `bytes=-n` range as (first, last); None for anything
    else (several ranges, other units, garbage), which is then answered with the whole body."""
    unit, _, ranges = spec.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in ranges:
        return None
    first, dash, last = ranges.strip().partition("-")
    if not dash or not (first or last) or not (first + last).isdigit():
        return None
    if not first:
        return max(size - int(last), 0), size - 1
    return int(first), int(last) if last else size - 1


def _not_modified(req: Message, headers: BodyHeaders) -> bool:
    tags = req.get("If-None-Match")
    if tags is not None:
        wanted = {t.strip() for t in tags.split(",")}
        return bool(headers.etag) and (headers.etag in wanted or "*" in wanted)
    since = _date(req.get("If-Modified-Since"))
    modified = _date(headers.last_modified)
    return since is not None and modified is not None and modified <= since


def _if_range_holds(value: str | None, headers: BodyHeaders) -> bool:
    if value is None:
        return True
    return value.strip() in (headers.etag, headers.last_modified) and bool(value.strip())


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
