"""Shared fixtures. End-to-end tests share one cache (so one base layer and one package
proxy cache per session: only the first build downloads) under DIBDO_TEST_DIR
(default /var/tmp/dibdo-tests), wiped at the start of each session unless
DIBDO_TEST_KEEP=1 (for developers iterating on one test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))


def _test_dir() -> Path:
    return Path(os.environ.get("DIBDO_TEST_DIR", "/var/tmp/dibdo-tests"))


@pytest.fixture(scope="session")
def e2e_dir() -> Iterator[Path]:
    path = _test_dir()
    if path.exists() and os.environ.get("DIBDO_TEST_KEEP") != "1":
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    yield path
    if os.environ.get("DIBDO_TEST_KEEP") != "1":
        shutil.rmtree(path, ignore_errors=True)  # layers, disks and outputs: many GB


@pytest.fixture(scope="session")
def shared_proxy(e2e_dir: Path) -> Iterator[str]:
    """One package proxy for the whole session: only the first build downloads."""
    from dibdo.proxy import ProxyServer

    with ProxyServer(e2e_dir / "proxy", allow_private=True) as proxy:
        old = os.environ.get("DIBDO_PROXY")
        os.environ["DIBDO_PROXY"] = str(proxy.url)
        try:
            yield str(proxy.url)
        finally:
            if old is None:
                os.environ.pop("DIBDO_PROXY", None)
            else:
                os.environ["DIBDO_PROXY"] = old


@pytest.fixture(scope="session")
def shared_cache(e2e_dir: Path, shared_proxy: str) -> Path:
    """The session's local cache: the base layer is built once and shared (and every
    build goes through the session's package proxy)."""
    return e2e_dir / "cache"


def dibdo(
    *args: str | os.PathLike[str], env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the dibdo command line as a user would."""
    cmd = [str(ROOT / ".venv/bin/dibdo"), *map(str, args)]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"dibdo {' '.join(map(str, args))} failed:\n{proc.stderr[-3000:]}")
    return proc


def leaks(*roots: Path) -> list[str]:
    """Mounts and loop devices of ours (under `roots`) still there."""
    with open("/proc/mounts") as fh:
        mounts = [line for line in fh if any(f" {r}" in line for r in roots)]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    return mounts + [line for line in loops.splitlines() if any(str(r) in line for r in roots)]


def is_root() -> bool:
    return os.geteuid() == 0
