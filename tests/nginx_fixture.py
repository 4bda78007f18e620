"""A real nginx (Debian's package) serving a WebDAV directory on loopback: the remote cache
in tests. Plain module, imported by the tests that need it:

    from nginx_fixture import running_nginx

    @pytest.fixture
    def server(tmp_path: Path) -> Iterator[Nginx]:
        with running_nginx(tmp_path / "nginx") as nginx:
            yield nginx

Everything nginx writes (config, pid, logs, temp files, the served tree) lives under the
given directory; the server is stopped by pid when the block ends, whatever happened.
Each access-log line is `METHOD URI STATUS BYTES_SENT`, parsed by `Nginx.requests()`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dibdo.run import run, spawn

_TEMP_PATHS = ("client-body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class Request:
    """One line of the access log."""

    method: str
    uri: str
    status: int


@dataclass(frozen=True)
class Nginx:
    """A running nginx: its base URL, the served directory and its access log."""

    url: str
    root: Path
    access_log: Path

    def requests(self) -> list[Request]:
        lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
        return [Request(m, u, int(s)) for m, u, s, _ in (line.split() for line in lines)]

    def methods(self) -> set[str]:
        return {r.method for r in self.requests()}


def free_port() -> int:
    """A loopback TCP port nobody listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _temp_path_directives(workdir: Path) -> str:
    """Point every temp path compiled into this nginx at `workdir` (nginx -V lists them)."""
    info = workdir / "nginx-V.txt"
    run(["nginx", "-V"], logfile=info)
    text = info.read_text()
    names = [n for n in _TEMP_PATHS if f"--http-{n}-temp-path" in text]
    return " ".join(f"{n.replace('-', '_')}_temp_path {workdir / n};" for n in names)


def write_config(workdir: Path, port: int) -> Path:
    """An nginx.conf for a foreground WebDAV server on 127.0.0.1:`port`."""
    user = "user root;" if os.geteuid() == 0 else ""  # workers as nobody could not write here
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
daemon off; worker_processes 1; {user}
pid {workdir}/nginx.pid; error_log {workdir}/error.log;
events {{ worker_connections 64; }}
http {{
  log_format dibdo '$request_method $uri $status $body_bytes_sent';
  access_log {workdir}/access.log dibdo;
  client_max_body_size 0; {_temp_path_directives(workdir)}
  server {{
    listen 127.0.0.1:{port}; root {workdir}/dav;
    location / {{ dav_methods PUT DELETE; create_full_put_path on; dav_access user:rw all:r; }}
  }}
}}
""")
    return conf


def _wait_listening(proc: subprocess.Popen[bytes], port: int, error_log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    errors = error_log.read_text() if error_log.exists() else ""
    raise RuntimeError(f"nginx did not listen on {port}: {errors}")


@contextlib.contextmanager
def running_nginx(workdir: Path) -> Iterator[Nginx]:
    """Start nginx serving `workdir`/dav on a free loopback port; stop it on exit."""
    (workdir / "dav").mkdir(parents=True)
    port = free_port()
    conf = write_config(workdir, port)
    argv: list[str | os.PathLike[str]] = [
        "nginx",
        "-p",
        f"{workdir}/",
        "-e",
        workdir / "error.log",
        "-c",
        conf,
    ]
    with spawn(argv, logfile=workdir / "stdout.log") as proc:
        _wait_listening(proc, port, workdir / "error.log")
        yield Nginx(f"http://127.0.0.1:{port}", workdir / "dav", workdir / "access.log")
