"""`serve()`, the foreground proxy behind `dibdo proxy serve`: prints its URL, serves, and
exits 0 on SIGTERM; a second one on the same port fails with a clear error."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import requests
from proxy_fixtures import closed_port

from dibdo.errors import ConfigError
from dibdo.proxy import ProxyServer, serve
from dibdo.run import base_env, spawn

SCRIPT = "import sys; from pathlib import Path; from dibdo.proxy import serve; " \
    "sys.exit(serve(listen=sys.argv[1], cache_dir=Path(sys.argv[2])))"  # fmt: skip


def _wait_for(path: Path, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}: {content!r}")


def test_serve_prints_its_url_serves_stats_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, log = closed_port(), tmp_path / "serve.log"
    argv = [sys.executable, "-c", SCRIPT, f"127.0.0.1:{port}", tmp_path / "cache"]
    with spawn(argv, env=base_env({"PYTHONPATH": str(Path.cwd())}), logfile=log) as proc:
        _wait_for(log, f"http://127.0.0.1:{port}")
        stats = requests.get(f"http://127.0.0.1:{port}/_dibdo/stats", timeout=10).json()
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    assert stats["since_start"]["requests"] == 0


def test_serve_on_a_busy_port_is_a_config_error(tmp_path: Path) -> None:
    with ProxyServer(tmp_path / "a") as busy, pytest.raises(ConfigError, match="cannot listen"):
        serve(listen=f"127.0.0.1:{busy.address[1]}", cache_dir=tmp_path / "b")
