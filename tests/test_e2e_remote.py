"""End to end: the shared cache on a real nginx WebDAV server. Runner A fills it, runner B
(empty cache, read-only) builds nothing and uploads nothing, a corrupted remote is
rejected and the build still succeeds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import dibdo, leaks
from nginx_fixture import Nginx, running_nginx

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.network]


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    with running_nginx(tmp_path / "nginx") as server:
        yield server


def build(cache: Path, out: Path, url: str, mode: str) -> dict[str, str]:
    report = out.with_suffix(".json")
    dibdo(
        "build",
        "--cache-dir",
        cache,
        "--remote-cache",
        url,
        "--remote-cache-mode",
        mode,
        "--report",
        report,
        "-o",
        out,
        "-t",
        "qcow2",
        "debian-minimal",
        "vm",
    )
    return {t["name"]: t["outcome"] for t in json.loads(report.read_text())["tasks"]}


def manifest(out: Path) -> dict[str, object]:
    """The manifest beside an output, less the output's own name."""
    data = dict(json.loads(out.with_name(out.name + ".manifest.json").read_text()))
    data.pop("image")
    return data


def test_fresh_runner_fetches_and_builds_nothing(
    tmp_path: Path, shared_cache: Path, nginx: Nginx
) -> None:
    build(shared_cache, tmp_path / "a", nginx.url, "readwrite")
    assert any(r.method == "PUT" and "/cas/" in r.uri for r in nginx.requests())
    nginx.access_log.write_text("")
    outcomes = build(tmp_path / "cache-b", tmp_path / "b", nginx.url, "read")
    assert "built" not in outcomes.values(), outcomes
    fetched = [name for name, outcome in outcomes.items() if outcome == "fetched"]
    assert fetched == ["convert:b/convert-qcow2"], outcomes  # only what the output needs
    assert "PUT" not in nginx.methods()
    assert manifest(tmp_path / "a") == manifest(tmp_path / "b")
    assert (tmp_path / "a.qcow2").read_bytes() == (tmp_path / "b.qcow2").read_bytes()


def test_corrupted_remote_objects_are_rejected(
    tmp_path: Path, shared_cache: Path, nginx: Nginx
) -> None:
    build(shared_cache, tmp_path / "a", nginx.url, "readwrite")
    for blob in (nginx.root / "cas").rglob("*"):
        if blob.is_file():
            with open(blob, "r+b") as fh:
                fh.seek(100)
                fh.write(b"garbage")
    outcomes = build(tmp_path / "cache-c", tmp_path / "c", nginx.url, "read")
    assert "built" in outcomes.values() and "fetched" not in outcomes.values()
    assert manifest(tmp_path / "a")["tasks"] == manifest(tmp_path / "c")["tasks"]
    assert leaks(tmp_path) == []
