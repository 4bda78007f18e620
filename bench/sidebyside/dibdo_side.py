"""dibdo for the comparison: `dibdo build` measured, the package proxy the scenarios share
(`dibdo proxy serve` on loopback, its own cache directory), and the shared remote cache (a
local nginx WebDAV server, the one the tests use: tests/nginx_fixture.py).

Every dibdo build goes through the bench's proxy (`DIBDO_PROXY`), so the proxy's own counter
says how many bytes came from upstream; "cold" starts it on an empty directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from dibdo.run import Arg, base_env, spawn
from sidebyside.measure import Measurement, file_size, measured


@dataclass(frozen=True)
class Proxy:
    """A running `dibdo proxy serve`."""

    url: str

    def upstream_bytes(self) -> int:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.url}/_dibdo/stats", timeout=10) as response:
            stats = json.load(response)
        return int(stats["since_start"]["bytes_from_upstream"])


@dataclass(frozen=True)
class Dibdo:
    """The project's dibdo and the element path with the test element."""

    repo: Path
    elements_path: Path

    @property
    def exe(self) -> Path:
        return self.repo / ".venv" / "bin" / "dibdo"

    def build(
        self,
        elements: tuple[str, ...],
        output: Path,
        *,
        cache_dir: Path,
        report: Path,
        logfile: Path,
        proxy: Proxy,
        remote: str | None = None,
        remote_mode: str = "read",
    ) -> Measurement:
        """`dibdo build -t qcow2 -o OUTPUT ELEMENTS...`, measured; the report goes to `report`."""
        argv: list[Arg] = [
            self.exe,
            "build",
            "--cache-dir",
            cache_dir,
            "--report",
            report,
            "-o",
            output,
            "-t",
            "qcow2",
            *elements,
        ]
        if remote is not None:
            argv += ["--remote-cache", remote, "--remote-cache-mode", remote_mode]
        env = base_env({"ELEMENTS_PATH": os.fspath(self.elements_path), "DIBDO_PROXY": proxy.url})
        output.with_suffix(".qcow2").unlink(missing_ok=True)
        before = proxy.upstream_bytes()
        m = measured(argv, env=env, logfile=logfile, cwd=self.repo)
        return replace(
            m,
            image_bytes=file_size(output.with_suffix(".qcow2")),
            upstream_bytes=proxy.upstream_bytes() - before,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def package_proxy(dibdo: Dibdo, cache_dir: Path, logfile: Path) -> Iterator[Proxy]:
    """`dibdo proxy serve` on a free loopback port, stopped when the block ends."""
    port = free_port()
    cache_dir.mkdir(parents=True, exist_ok=True)
    argv: list[Arg] = [
        dibdo.exe,
        "proxy",
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--cache-dir",
        cache_dir,
    ]
    with spawn(argv, logfile=logfile) as proc:
        _wait_listening(port, alive=lambda: proc.poll() is None, logfile=logfile)
        yield Proxy(f"http://127.0.0.1:{port}")


def _wait_listening(port: int, *, alive: Callable[[], bool], logfile: Path) -> None:
    deadline = time.monotonic() + 30
    while alive() and time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the package proxy did not start; see {logfile}")
