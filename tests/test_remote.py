"""Tests for dibdo.store.remote: the remote cache client against a real nginx (WebDAV PUT)
and, for faults nginx will not produce on cue, against a tiny in-process HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nginx_fixture import Nginx, free_port, running_nginx
from requests.auth import HTTPBasicAuth

from dibdo.errors import ConfigError
from dibdo.store._transfer import Direction, partial_path
from dibdo.store.remote import (
    RemoteCache,
    RemoteConfig,
    RemoteMode,
    ac_name,
    remote_auth_from_env,
)

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Nginx]:
    with running_nginx(tmp_path / "nginx") as nginx:
        yield nginx


def remote(url: str, mode: RemoteMode = RemoteMode.READWRITE, timeout: float = 5) -> RemoteCache:
    return RemoteCache(RemoteConfig(url, mode, timeout))


def blob(tmp_path: Path, data: bytes, name: str = "layer.tar.zst") -> tuple[str, Path]:
    path = tmp_path / name
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


def publish(url: str, tmp_path: Path, data: bytes) -> str:
    """Upload one record with one object; return the object's sha256."""
    sha, path = blob(tmp_path, data)
    with remote(url) as rc:
        rc.upload(KEY, {"kind": "layer", "objects": {sha: len(data)}}, {sha: path})
    return sha


# --- against nginx -------------------------------------------------------------------


@pytest.mark.root
def test_upload_then_record_and_object_round_trip(server: Nginx, tmp_path: Path) -> None:
    data = b"layer bytes " * 100_000
    sha = publish(server.url, tmp_path, data)
    with remote(server.url, RemoteMode.READ) as rc:
        record = rc.get_record(KEY)
        assert record == {"kind": "layer", "objects": {sha: len(data)}}
        assert rc.has_object(sha)
        assert rc.fetch_objects({sha: tmp_path / "fetched"})
        stats = rc.stats()
    assert (tmp_path / "fetched").read_bytes() == data
    assert [s.direction for s in stats if s.what == f"cas/{sha}"] == [Direction.DOWNLOAD]
    assert all(s.ok for s in stats) and sum(s.bytes for s in stats) > len(data)


@pytest.mark.root
def test_record_is_put_after_its_objects(server: Nginx, tmp_path: Path) -> None:
    sha = publish(server.url, tmp_path, b"object")
    puts = [r.uri for r in server.requests() if r.method == "PUT"]
    assert puts == [f"/cas/{sha}", f"/ac/{ac_name(KEY)}"]


@pytest.mark.root
def test_objects_the_remote_holds_are_not_uploaded_again(server: Nginx, tmp_path: Path) -> None:
    sha, path = blob(tmp_path, b"shared object")
    with remote(server.url) as rc:
        rc.upload("k1", {"n": 1}, {sha: path})
    with remote(server.url) as rc:
        rc.upload("k2", {"n": 2}, {sha: path})
        uploads = rc.wait()
    assert [s.what for s in uploads] == [f"ac/{ac_name('k2')}"]
    assert sum(r.method == "PUT" and "/cas/" in r.uri for r in server.requests()) == 1


@pytest.mark.root
def test_read_mode_never_puts(server: Nginx, tmp_path: Path) -> None:
    sha, path = blob(tmp_path, b"object")
    with remote(server.url, RemoteMode.READ) as rc:
        rc.upload(KEY, {"kind": "layer"}, {sha: path})
        assert rc.wait() == []
        assert rc.get_record(KEY) is None
    assert "PUT" not in server.methods()
    assert not any(server.root.iterdir())


@pytest.mark.root
def test_write_mode_never_gets(server: Nginx, tmp_path: Path) -> None:
    sha, path = blob(tmp_path, b"object")
    with remote(server.url, RemoteMode.WRITE) as rc:
        rc.upload(KEY, {"kind": "layer"}, {sha: path})
        rc.wait()
        assert rc.get_record(KEY) is None
        assert not rc.fetch_object(sha, tmp_path / "fetched")
    assert "GET" not in server.methods()
    assert (server.root / "ac" / ac_name(KEY)).exists()


@pytest.mark.root
def test_corrupted_object_is_rejected_and_leaves_nothing(
    server: Nginx, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = publish(server.url, tmp_path, b"x" * 4096)
    with (server.root / "cas" / sha).open("r+b") as served:
        served.seek(100)
        served.write(b"garbage")
    dest = tmp_path / "fetched"
    with remote(server.url, RemoteMode.READ) as rc:
        assert not rc.fetch_object(sha, dest)
    assert not dest.exists() and not partial_path(dest, sha).exists()
    assert "does not match its sha256" in capsys.readouterr().err


@pytest.mark.root
def test_rejected_object_is_replaced_by_the_next_upload(server: Nginx, tmp_path: Path) -> None:
    sha = publish(server.url, tmp_path, b"good bytes")
    (server.root / "cas" / sha).write_bytes(b"bad bytes!")
    with remote(server.url) as rc:
        assert not rc.fetch_object(sha, tmp_path / "fetched")
        rc.upload(KEY, {"kind": "layer"}, {sha: tmp_path / "layer.tar.zst"})
    assert (server.root / "cas" / sha).read_bytes() == b"good bytes"


@pytest.mark.root
def test_partial_file_is_resumed_with_a_range_request(server: Nginx, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000
    sha = publish(server.url, tmp_path, data)
    dest = tmp_path / "fetched"
    partial_path(dest, sha).write_bytes(data[:300_000])
    with remote(server.url, RemoteMode.READ) as rc:
        assert rc.fetch_object(sha, dest)
        assert [s.bytes for s in rc.stats()] == [len(data) - 300_000]
    assert dest.read_bytes() == data and not partial_path(dest, sha).exists()
    assert [r.status for r in server.requests() if r.method == "GET"] == [206]


# --- faults, against a scripted server -------------------------------------------------


class Scripted(http.server.BaseHTTPRequestHandler):
    """Serves `files`; the first GET of each body is cut in half unless `whole`; honours a
    Range only when `ranges`; logs (method, Range header) in `seen`."""

    files: dict[str, bytes] = {}
    ranges = True
    whole = False
    seen: list[tuple[str, str]] = []

    def do_GET(self) -> None:
        self.seen.append(("GET", self.headers.get("Range", "")))
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = int(self.headers["Range"][6:-1]) if self.ranges and "Range" in self.headers else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        cut = len(body) if self.whole or start else len(body) // 2
        self.wfile.write(body[start:cut])
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[Scripted]]]:
    handler = type("Handler", (Scripted,), {"files": {}, "seen": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,))
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def test_dropped_connection_resumes_where_it_stopped(
    scripted: tuple[str, type[Scripted]], tmp_path: Path
) -> None:
    url, handler = scripted
    data = b"0123456789" * 50_000
    sha = hashlib.sha256(data).hexdigest()
    handler.files[f"/cas/{sha}"] = data
    with remote(url, RemoteMode.READ) as rc:
        assert rc.fetch_object(sha, tmp_path / "fetched")
    assert (tmp_path / "fetched").read_bytes() == data
    assert [method for method, _ in handler.seen] == ["GET", "GET"]
    resumed_at = int(handler.seen[1][1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= len(data) // 2


def test_truncated_body_without_ranges_fails_cleanly(
    scripted: tuple[str, type[Scripted]], tmp_path: Path
) -> None:
    url, handler = scripted
    handler.ranges = False
    data = b"abcdefgh" * 50_000
    sha = hashlib.sha256(data).hexdigest()
    handler.files[f"/cas/{sha}"] = data
    dest = tmp_path / "fetched"
    with remote(url, RemoteMode.READ) as rc:
        assert not rc.fetch_object(sha, dest)
        assert [s.ok for s in rc.stats()] == [False]
    assert [method for method, _ in handler.seen] == ["GET"] * 3
    assert not dest.exists() and not partial_path(dest, sha).exists()


def test_garbage_record_is_a_miss_with_a_warning(
    scripted: tuple[str, type[Scripted]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, handler = scripted
    handler.whole = True
    handler.files[f"/ac/{ac_name(KEY)}"] = b"<html>not json</html>"
    with remote(url, RemoteMode.READ) as rc:
        assert rc.get_record(KEY) is None
        assert rc.get_record("another key") is None
    assert "not a JSON object" in capsys.readouterr().err


def test_remote_down_is_a_fast_miss_warned_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.monotonic()
    with remote(f"http://127.0.0.1:{free_port()}", timeout=1) as rc:
        assert rc.get_record(KEY) is None
        assert not rc.fetch_objects({"0" * 64: tmp_path / "a", "1" * 64: tmp_path / "b"})
        rc.upload(KEY, {}, {})
    assert time.monotonic() - start < 3
    assert capsys.readouterr().err.count("warning:") == 1
    assert not any(tmp_path.iterdir())


# --- configuration and credentials ----------------------------------------------------


def test_basic_auth_comes_before_token() -> None:
    env = {
        "DIBDO_REMOTE_CACHE_USER": "ci",
        "DIBDO_REMOTE_CACHE_PASSWORD": "pw",
        "DIBDO_REMOTE_CACHE_TOKEN": "tok",
    }
    auth = remote_auth_from_env(env, "http://cache.example:8080")
    assert isinstance(auth, HTTPBasicAuth) and (auth.username, auth.password) == ("ci", "pw")


def test_token_becomes_a_bearer_header() -> None:
    auth = remote_auth_from_env({"DIBDO_REMOTE_CACHE_TOKEN": "s3cret"}, "https://cache.example")
    assert auth is not None
    request = type("R", (), {"headers": {}})()
    assert auth(request).headers == {"Authorization": "Bearer s3cret"}
    assert "s3cret" not in repr(auth)


def test_netrc_entry_for_the_host_is_used(tmp_path: Path) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine other login x password y\nmachine cache.example login u password p\n")
    auth = remote_auth_from_env({"NETRC": str(netrc)}, "http://cache.example/dibdo")
    assert isinstance(auth, HTTPBasicAuth) and (auth.username, auth.password) == ("u", "p")
    assert remote_auth_from_env({"NETRC": str(netrc)}, "http://elsewhere.example") is None


def test_no_credentials_anywhere_means_no_auth(tmp_path: Path) -> None:
    assert remote_auth_from_env({"HOME": str(tmp_path)}, "http://cache.example") is None


@pytest.mark.parametrize("url", ["ftp://cache.example", "http://u:p@cache.example", "cache"])
def test_config_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        RemoteConfig(url, RemoteMode.READ)


def test_ac_name_keeps_64_hex_keys_and_hashes_others() -> None:
    assert ac_name("a" * 64) == "a" * 64
    assert ac_name(KEY) == hashlib.sha256(KEY.encode()).hexdigest()
