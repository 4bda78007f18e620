"""The remote cache seen from a step: is a result there, fetch it, upload it.

A record holds the entry's metadata and its objects: `tree` (a packed layer) or one
zstd file per result file, each by sha256. Fetching verifies every object (the remote
client does) and commits through `Store.stage()`, so a bad download leaves nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from dibdo import log
from dibdo.errors import DibdoError
from dibdo.store import pack
from dibdo.tasks.build import Build
from dibdo.tasks.plan import Step

RECORD_VERSION = 1


def has(build: Build, key: str) -> bool:
    return build.remote is not None and build.remote.get_record(key) is not None


def fetch(build: Build, step: Step) -> bool:
    """Download the step's result into the store; False when the remote cannot give it."""
    if build.remote is None:
        return False
    record = build.remote.get_record(step.key.digest)
    if not record or record.get("version") != RECORD_VERSION:
        return False
    start = time.monotonic()
    objects: dict[str, Any] = record["objects"]
    try:
        with build.store.stage(step.key.digest, record["meta"].get("kind", "layer")) as st:
            downloads = {o["sha256"]: st.path / f"{name}.zst" for name, o in objects.items()}
            if not build.remote.fetch_objects(downloads):
                raise _Rejected()
            for name in objects:
                _unpack(name, st.path / f"{name}.zst", st.path)
            st.meta.update(record["meta"])
    except _Rejected:
        log.warn(f"remote cache: {step.name} could not be fetched; building it here")
        return False
    except DibdoError as exc:
        log.warn(f"remote cache: {step.name} did not unpack ({exc.message}); building it here")
        return False
    log.info(f"fetched {step.describe()} in {time.monotonic() - start:.1f}s")
    return True


class _Rejected(Exception):
    """An object was missing or did not match its hash."""


def _unpack(name: str, archive: Path, into: Path) -> None:
    if name == "tree":
        pack.unpack_tree(archive, into / "tree")
    else:
        pack.unpack_file(archive, into / name)
    archive.unlink()


def backfill(build: Build, step: Step) -> None:
    """A local hit the remote lacks is uploaded too, so a runner that built before the
    remote was set up still fills it."""
    if build.remote is None or not build.remote.config.mode.writes:
        return
    if build.remote.config.mode.reads and has(build, step.key.digest):
        return
    upload(build, step)


def upload(build: Build, step: Step) -> None:
    """Pack the step's committed result and queue its upload (no-op without a writer)."""
    if build.remote is None or not build.remote.config.mode.writes:
        return
    entry = build.store.get(step.key.digest)
    packed = build.store.root / "packed" / step.key.digest
    packed.mkdir(parents=True, exist_ok=True)
    objects: dict[str, dict[str, Any]] = {}
    paths: dict[str, Path] = {}
    for item in sorted(entry.path.iterdir()):
        if item.name == "meta.json":
            continue
        dest = packed / f"{item.name}.zst"
        if not dest.exists():
            tmp = dest.with_name(dest.name + f".{os.getpid()}.tmp")
            (pack.pack_tree if item.is_dir() else pack.pack_file)(item, tmp)
            os.replace(tmp, dest)
        sha = pack.sha256_file(dest)
        objects[item.name] = {"sha256": sha, "size": dest.stat().st_size}
        paths[sha] = dest
    record = {"version": RECORD_VERSION, "meta": dict(entry.meta), "objects": objects}
    build.remote.upload(step.key.digest, record, paths)
