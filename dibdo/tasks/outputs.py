"""Convert tasks (one per format) and the image task that delivers the outputs.

A convert is keyed by its parent (the raw disk, or the final layer for tree and
container formats) and its options, so asking for one more format converts only that.
The image task copies results out of the store (reflinked where possible, never linked
into a cache that eviction may empty), writes checksums and the manifest beside the image.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dibdo import convert as conv
from dibdo.convert import Format
from dibdo.rootfs.mounts import overlay
from dibdo.store import Staging, copy_out, write_json
from dibdo.tasks.build import Build
from dibdo.tasks.plan import Plan, Step


@contextlib.contextmanager
def merged_tree(build: Build, layers: tuple[str, ...], name: str) -> Iterator[Path]:
    """A read-only view of the final root tree: an overlay of every layer."""
    from dibdo.tasks.layers import lower_dirs

    target = build.workspace / f"tree-{name}"
    target.mkdir()
    try:
        with overlay(lower_dirs(build, layers), target, journal=build.journal) as root:
            yield root
    finally:
        target.rmdir()


def convert(build: Build, step: Step, st: Staging) -> None:
    """Make one output format in the staging directory as `image.<suffix>`."""
    fmt = Format[step.fmt]
    dest = st.path / f"image.{fmt.suffix}"
    if fmt.needs_disk:
        disk = build.store.get(step.key.inputs["parent"]).path / "disk.raw"
        conv.convert_disk(disk, fmt, dest, compress="compress" in step.key.inputs["options"])
    elif fmt.needs_layers:
        trees = [build.store.get(k).tree for k in step.layers]
        config = conv.DockerConfig(repo_tag=f"{build.spec.name}:latest", arch=build.config.arch)
        conv.docker_archive(trees, dest, config=config)
    else:
        with merged_tree(build, step.layers, step.name) as root:
            if fmt is Format.SQUASHFS:
                conv.squashfs(root, dest)
            else:
                conv.tar_tree(root, dest, compress=fmt is Format.TGZ)
    st.meta["file"] = dest.name
    st.meta["packages"] = build.store.get(step.key.inputs["parent"]).meta.get("packages", [])


def output_path(build: Build, fmt: Format) -> Path:
    out = build.spec.output
    return out.with_name(f"{out.name}.{fmt.suffix}")


def manifest(build: Build, plan: Plan) -> dict[str, Any]:
    """What was built from what: elements, environment, keys, packages, block device."""
    packages = (
        build.store.get(plan.converts[0].key.digest).meta.get("packages", [])
        if plan.converts
        else []
    )
    return {
        "image": build.spec.name,
        "elements": {
            e.name: {"tree": _tree_digest(build, e.path)} for e in build.elements.elements
        },
        "environment": {k: v for k, v in build.config.dib_env.items()},
        "tasks": {s.name: s.key.digest for s in plan.all},
        "packages": packages,
        "block_device": build.blockdev_json,
        "formats": list(build.spec.formats),
    }


def _tree_digest(build: Build, path: Path) -> str:
    from dibdo.keys import tree_digest

    return tree_digest(path, build.memo)


def deliver(build: Build, plan: Plan) -> None:
    """Copy every requested output out of the store, with checksums and the manifest."""
    for step in plan.converts:
        fmt = Format[step.fmt]
        src = build.store.get(step.key.digest).path / f"image.{fmt.suffix}"
        dest = output_path(build, fmt)
        copy_out(src, dest)
        if build.config.checksum:
            conv.write_checksums(dest)
        build.report.outputs.append(os.fspath(dest))
        print(f"{dest} ({dest.stat().st_size / 2**20:.0f} MiB)", flush=True)
    data = manifest(build, plan)
    write_json(_manifest_path(build), data)


def _manifest_path(build: Build) -> Path:
    out = build.spec.output
    return out.with_name(f"{out.name}.manifest.json")


class Delivered:
    """Up to date when every output exists and the manifest beside them names these keys."""

    def __init__(self, build: Build, plan: Plan) -> None:
        self.build, self.plan = build, plan

    def __call__(self) -> bool:
        try:
            data = json.loads(_manifest_path(self.build).read_text())
        except (OSError, ValueError):
            return False
        keys = {s.name: s.key.digest for s in self.plan.all}
        files = [output_path(self.build, Format[s.fmt]) for s in self.plan.converts]
        return data.get("tasks") == keys and all(f.exists() for f in files)

    def __repr__(self) -> str:
        return f"Delivered({self.build.spec.output})"


def image_task(build: Build, plan: Plan) -> dict[str, Any]:
    from dibdo.tasks.actions import task_name

    return {
        "basename": "image",
        "name": build.spec.name,
        "doc": f"{build.spec.name}: {' '.join(build.spec.elements)} -> "
        f"{', '.join(build.spec.formats)}",
        "actions": [(deliver, [build, plan])],
        "uptodate": [Delivered(build, plan)],
        "task_dep": [task_name(build, c) for c in plan.converts],
        "verbosity": 2,
    }
