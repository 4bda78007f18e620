"""The proxy against a fake archive on loopback: bodies cached once, ranges, pass-through,
stats, the relay policy and CONNECT. Real sockets, real threads, no mocks."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import requests
from proxy_fixtures import ARCHIVE, MIRROR, FakeArchive, blob, get, proxy_for

from dibdo.proxy import ProxyServer, format_stats

DEB = "/debian/pool/main/h/hello/hello_2.10-3_amd64.deb"
BODY = blob(3 * 2**20)


def test_deb_is_fetched_once_then_served_from_the_store(tmp_path: Path) -> None:
    with FakeArchive({DEB: BODY}) as archive, proxy_for(tmp_path, archive) as proxy:
        first = get(proxy, ARCHIVE + DEB)
        second = get(proxy, ARCHIVE + DEB)
        stats = proxy.stats()
    assert first.content == BODY and second.content == BODY
    assert archive.count(DEB) == 1
    assert stats.bytes_from_upstream == len(BODY)
    assert (stats.hits, stats.misses, stats.bytes_from_cache) == (1, 1, len(BODY))


def test_same_archive_path_on_another_mirror_is_a_hit(tmp_path: Path) -> None:
    archive, empty = FakeArchive({DEB: BODY}), FakeArchive()
    with archive, empty, proxy_for(tmp_path, archive, empty) as proxy:
        get(proxy, ARCHIVE + DEB)
        other = get(proxy, MIRROR + DEB)
    assert other.status_code == 200 and other.content == BODY
    assert empty.count(DEB) == 0


def test_range_on_a_cached_body_is_answered_from_the_store(tmp_path: Path) -> None:
    with FakeArchive({DEB: BODY}) as archive, proxy_for(tmp_path, archive) as proxy:
        get(proxy, ARCHIVE + DEB)
        part = get(proxy, ARCHIVE + DEB, Range="bytes=100-199")
        tail = get(proxy, ARCHIVE + DEB, Range="bytes=-10")
        beyond = get(proxy, ARCHIVE + DEB, Range=f"bytes={len(BODY)}-")
    assert part.status_code == 206 and part.content == BODY[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(BODY)}"
    assert tail.status_code == 206 and tail.content == BODY[-10:]
    assert beyond.status_code == 416
    assert archive.count(DEB) == 1


def test_conditional_request_for_a_cached_body_gets_304(tmp_path: Path) -> None:
    with FakeArchive({DEB: BODY}) as archive, proxy_for(tmp_path, archive) as proxy:
        etag = get(proxy, ARCHIVE + DEB).headers["ETag"]
        again = get(proxy, ARCHIVE + DEB, If_None_Match=etag)
    assert again.status_code == 304 and again.content == b""


def test_upstream_404_is_passed_through_and_not_cached(tmp_path: Path) -> None:
    missing = "/debian/pool/main/n/nope/nope_1_all.deb"
    with FakeArchive() as archive, proxy_for(tmp_path, archive) as proxy:
        first = get(proxy, ARCHIVE + missing)
        archive.put(missing, b"now it exists")
        second = get(proxy, ARCHIVE + missing)
    assert first.status_code == 404
    assert second.status_code == 200 and second.content == b"now it exists"


def test_loopback_target_is_refused_without_allow_private(tmp_path: Path) -> None:
    with FakeArchive({DEB: BODY}) as archive:
        direct = f"http://{archive.authority}{DEB}"
        with ProxyServer(tmp_path / "a") as proxy:
            refused = get(proxy, direct)
        with ProxyServer(tmp_path / "b", allow_private=True) as proxy:
            allowed = get(proxy, direct)
    assert refused.status_code == 403 and "refusing" in refused.text
    assert allowed.status_code == 200
    assert archive.count(DEB) == 1


def test_a_request_looping_back_to_the_proxy_is_stopped(tmp_path: Path) -> None:
    with ProxyServer(tmp_path, allow_private=True) as proxy:
        looped = get(proxy, f"{proxy.url}/deb.example/debian/dists/x/InRelease")
    assert looped.status_code == 508


def test_stats_are_live_over_http_and_persisted_in_the_cache_dir(tmp_path: Path) -> None:
    with FakeArchive({DEB: BODY}) as archive, proxy_for(tmp_path, archive) as proxy:
        get(proxy, ARCHIVE + DEB)
        get(proxy, ARCHIVE + DEB)
        live = json.loads(requests.get(f"{proxy.url}/_dibdo/stats", timeout=10).text)
    assert live["since_start"]["hits"] == 1 and live["total"]["misses"] == 1
    assert live["since_start"]["bytes_from_upstream"] == len(BODY)
    text = format_stats(tmp_path)
    assert "hits" in text and f"({len(BODY)} B)" in text


def test_connect_is_tunnelled_to_allowed_targets_only(tmp_path: Path) -> None:
    with FakeArchive({"/x": b"through the tunnel"}) as archive:
        with ProxyServer(tmp_path / "a", allow_private=True) as proxy:
            answer = _connect(proxy, archive.authority, b"GET /x HTTP/1.0\r\n\r\n")
        with ProxyServer(tmp_path / "b") as proxy:
            refused = _connect(proxy, archive.authority, b"")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"through the tunnel")
    assert refused.startswith(b"HTTP/1.1 403")


def _connect(proxy: ProxyServer, authority: str, payload: bytes) -> bytes:
    """CONNECT through the proxy, send `payload` in the tunnel, return everything received."""
    with socket.create_connection(proxy.address, timeout=10) as sock:
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
        head = sock.recv(4096)
        if not head.startswith(b"HTTP/1.1 200"):
            return head
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_closing_the_server_cuts_idle_connections_and_joins_its_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with FakeArchive({DEB: BODY}) as archive, proxy_for(tmp_path, archive) as proxy:
        idle = socket.create_connection(proxy.address, timeout=10)
        idle.sendall(f"GET {ARCHIVE}{DEB} HTTP/1.1\r\nHost: archive.test\r\n\r\n".encode())
        idle.recv(1)
        start = time.monotonic()
    with idle:
        assert time.monotonic() - start < 5
        assert set(threading.enumerate()) - before == set()
