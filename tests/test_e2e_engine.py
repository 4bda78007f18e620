"""End to end: real mmdebstrap, real chroot and overlay layers, the local store.

The rootfs is checked through the `tar` output (no disk needed): files, packages, what is
re-run after a change, and what a failing hook leaves behind (nothing).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, dibdo, leaks

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.network]


def hello_element(root: Path, content: str, *, readme: str = "hello") -> Path:
    el = root / "hello"
    (el / "install.d").mkdir(parents=True, exist_ok=True)
    script = el / "install.d/50-hello"
    script.write_text(f"#!/bin/bash\nset -eu\necho {content} > /etc/hello\n")
    script.chmod(0o755)
    (el / "package-installs.yaml").write_text("hostname:\n")
    (el / "README.rst").write_text(readme)
    return root


def build(tmp: Path, cache: Path, name: str, *extra: str) -> dict[str, str]:
    report = tmp / f"{name}.json"
    dibdo(
        "build",
        "--cache-dir",
        cache,
        "--report",
        report,
        "-o",
        tmp / name,
        "-t",
        "tar",
        "debian-minimal",
        "vm",
        "hello",
        *extra,
        env={"ELEMENTS_PATH": str(tmp / "el")},
    )
    tasks = json.loads(report.read_text())["tasks"]
    return {
        t["name"].split("/", 1)[1] if "/" in t["name"] else t["name"]: t["outcome"] for t in tasks
    }


def tar_read(path: Path, member: str) -> str:
    with tarfile.open(path) as tar:
        fh = tar.extractfile(member)
        assert fh is not None
        return fh.read().decode()


def test_rootfs_holds_element_files_and_packages(tmp_path: Path, shared_cache: Path) -> None:
    hello_element(tmp_path / "el", "v1")
    build(tmp_path, shared_cache, "a")
    assert tar_read(tmp_path / "a.tar", "./etc/hello").strip() == "v1"
    packages = tar_read(tmp_path / "a.tar", "./etc/dib-manifests/dpkg-packages")
    assert "hostname " in packages and "linux-image-amd64 " in packages
    with tarfile.open(tmp_path / "a.tar") as tar:
        names = tar.getnames()
    assert "./usr/sbin/policy-rc.d" not in names


def test_noop_rebuild_runs_nothing(tmp_path: Path, shared_cache: Path) -> None:
    hello_element(tmp_path / "el", "v1")
    build(tmp_path, shared_cache, "a")
    outcomes = build(tmp_path, shared_cache, "b")
    assert "built" not in outcomes.values(), outcomes


def test_script_change_reruns_that_step_and_later(tmp_path: Path, shared_cache: Path) -> None:
    hello_element(tmp_path / "el", "v1")
    before = build(tmp_path, shared_cache, "a")
    fresh = f"v2-{uuid.uuid4().hex}"  # never built before, even in a kept test cache
    hello_element(tmp_path / "el", fresh, readme="changed README")
    after = build(tmp_path, shared_cache, "b")
    order = list(before)
    first = next(i for i, n in enumerate(order) if after.get(n) == "built")
    assert "hello" in order[first]
    assert all(after[n] == "cached" for n in order[:first] if not n.startswith("disk"))
    assert all(after[n] == "built" for n in order[first:] if n.startswith(("step", "finish")))
    assert tar_read(tmp_path / "b.tar", "./etc/hello").strip() == fresh


def test_readme_change_reruns_nothing(tmp_path: Path, shared_cache: Path) -> None:
    hello_element(tmp_path / "el", "v1")
    build(tmp_path, shared_cache, "a")
    hello_element(tmp_path / "el", "v1", readme="a new README")
    assert "built" not in build(tmp_path, shared_cache, "b").values()


def test_failing_hook_is_named_and_leaves_nothing(tmp_path: Path, shared_cache: Path) -> None:
    hello_element(tmp_path / "el", "v1")
    script = tmp_path / "el/hello/install.d/50-hello"
    script.write_text("#!/bin/bash\necho about to fail\nexit 3\n")
    proc = dibdo(
        "build",
        "--cache-dir",
        shared_cache,
        "-o",
        tmp_path / "x",
        "-t",
        "tar",
        "debian-minimal",
        "vm",
        "hello",
        env={"ELEMENTS_PATH": str(tmp_path / "el")},
        check=False,
    )
    assert proc.returncode == 1
    assert "50-hello" in proc.stderr and "hello" in proc.stderr and "about to fail" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert leaks(shared_cache, tmp_path) == []
    assert not list((shared_cache / "staging").iterdir())
    hello_element(tmp_path / "el", "v3")
    outcomes = build(tmp_path, shared_cache, "fixed")
    assert outcomes["bootstrap"] == "cached"


def test_doit_list_shows_steps_in_dib_order() -> None:
    out = subprocess.run(
        [".venv/bin/doit", "list", "--all", "--sort=definition"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        check=True,
    ).stdout
    assert "bootstrap:debian-minimal-vm/bootstrap" in out
    assert out.index("01-pre-install") < out.index("02-install") < out.index("disk:")


def slow_element(root: Path) -> Path:
    script = root / "slow/install.d/60-slow"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/bash\necho started > /tmp/slow-started\nsleep 300\n")
    script.chmod(0o755)
    return root


def start_slow_build(tmp: Path, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ELEMENTS_PATH": str(slow_element(tmp / "el"))}
    cmd = [
        str(ROOT / ".venv/bin/dibdo"),
        "build",
        "--cache-dir",
        str(cache),
        "-o",
        str(tmp / "s"),
        "-t",
        "tar",
        "debian-minimal",
        "vm",
        "slow",
    ]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not list(cache.glob("staging/*/tree/tmp/slow-started")):
        assert proc.poll() is None and time.monotonic() < deadline, "the slow hook never ran"
        time.sleep(0.5)
    return proc


def test_sigterm_during_a_step_unwinds_everything(tmp_path: Path, shared_cache: Path) -> None:
    proc = start_slow_build(tmp_path, shared_cache)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err
    assert leaks(shared_cache, tmp_path) == []
    assert not list((shared_cache / "staging").iterdir())


def test_cleanup_reaps_what_a_killed_build_left(tmp_path: Path, shared_cache: Path) -> None:
    proc = start_slow_build(tmp_path, shared_cache)
    proc.kill()
    proc.communicate()
    subprocess.run(["pkill", "-KILL", "-f", "sleep 300"], check=False)
    assert leaks(shared_cache) != []
    dibdo("cleanup", "--cache-dir", shared_cache)
    assert leaks(shared_cache, tmp_path) == []
    assert not list((shared_cache / "staging").iterdir())
