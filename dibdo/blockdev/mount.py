"""Level 3, `mount`: a file system at its mount point under the build's mount root.

Mounts are made in mount-point order (`/` before `/var` before `/var/log`: each mount
comes after the mount of its closest parent) and released in reverse. A vfat file
system the kernel cannot mount (no vfat here, as in many CI containers) is *staged*: its
mount point is a plain directory that the build fills like a mounted one (grub-install
--efi-directory=...); on the way out (umount) its content is copied into the file system
with mtools and the directory is emptied again. create: mkdir and mount (or stage).
umount: fstrim, then unmount (staged: mcopy, empty). delete: unmount (staged: empty).
Host commands: mount, umount, fstrim, mcopy.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dibdo.blockdev.graph import Context, NodeBase
from dibdo.blockdev.results import Filesystem, Mounted, Result
from dibdo.blockdev.schema import Field, Need, NodeType, Problems, RawNode, Role, text
from dibdo.rootfs.mounts import mounted
from dibdo.run import base_env, run


@dataclass(frozen=True)
class MountSpec:
    """Where a file system is mounted."""

    name: str
    base: str
    mount_point: str
    path: str = field(default="", compare=False)

    def needs(self) -> tuple[Need, ...]:
        return (Need(self.base, frozenset({Role.FS}), f"{self.path}.base"),)

    def provides(self) -> tuple[tuple[str, Role], ...]:
        return ((self.name, Role.MOUNT),)

    def to_yaml(self) -> dict[str, Any]:
        return {"mount": {"name": self.name, "base": self.base, "mount_point": self.mount_point}}


def parse(raw: RawNode, problems: Problems) -> MountSpec | None:
    if not TYPE.check_keys(raw, problems):
        return None
    point = text(raw.values, "mount_point") or ""
    clean = posixpath.normpath(point) if point else ""
    if not clean.startswith("/") or ".." in clean.split("/") or clean.startswith("//"):
        problems.add(f"{raw.path}.mount_point", f"'{point}' is not an absolute path", node=raw.name)
    return MountSpec(raw.name, text(raw.values, "base") or "", clean, raw.path)


TYPE = NodeType(
    key="mount",
    doc="Mounts a file system at its mount point (vfat is staged where it cannot be mounted).",
    commands=("mount", "umount", "fstrim", "mcopy"),
    fields=(
        Field("name", "Name of the mount (default mount_<base>)."),
        Field("base", "The file system (an mkfs node).", required=True),
        Field("mount_point", "Absolute mount point in the image.", required=True),
        Field("fstab", "Nested fstab node."),
    ),
    parse=parse,
)


def mount_order(specs: Sequence[MountSpec]) -> dict[str, list[str]]:
    """For each mount, the mount it must come after: the one of its closest parent."""
    by_point = {s.mount_point: s.name for s in specs}
    after: dict[str, list[str]] = {}
    for spec in specs:
        parent = spec.mount_point
        while parent != "/":
            parent = posixpath.dirname(parent)
            if parent in by_point:
                after[spec.name] = [by_point[parent]]
                break
    return after


def host_path(root: Path, mount_point: str) -> Path:
    """Where `mount_point` of the image is on the host, under the mount root."""
    return root / mount_point.lstrip("/")


class Mount(NodeBase):
    """create (mkdir, mount or stage) -> umount (fstrim, unmount; staged: mcopy) | delete."""

    def __init__(self, spec: MountSpec, ctx: Context) -> None:
        super().__init__(ctx)
        self.spec = spec
        self.staged: tuple[Filesystem, Path] | None = None

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]:
        fs = inputs[self.spec.base]
        assert isinstance(fs, Filesystem)
        target = host_path(self.ctx.mount_root, self.spec.mount_point)
        target.mkdir(parents=True, exist_ok=True)
        stage = fs.fstype == "vfat" and self.ctx.stage_vfat
        if stage:
            self.staged = (fs, target)
        else:
            self.stack.enter_context(
                mounted(fs.device, target, fstype=fs.fstype, journal=self.ctx.journal)
            )
        return {self.spec.name: Mounted(self.spec.name, self.spec.mount_point, target, fs, stage)}

    def umount(self) -> None:
        if self.staged is not None:
            staged, self.staged = self.staged, None
            try:
                copy_into_vfat(staged[1], staged[0], image=self.ctx.image)
            finally:
                empty(staged[1])
            return
        target = host_path(self.ctx.mount_root, self.spec.mount_point)
        run(["fstrim", target], check=False)
        super().umount()

    def delete(self) -> None:
        staged, self.staged = self.staged, None
        if staged is not None:
            empty(staged[1])
        super().delete()


def copy_into_vfat(staging: Path, fs: Filesystem, *, image: Path) -> None:
    """Copy everything under `staging` into the vfat file system `fs` with mtools.

    mtools cannot size a loop partition device (no geometry), so it writes into the image
    file at the file system's offset; the device is flushed first so that nothing it
    caches is older than the file."""
    entries = sorted(staging.iterdir())
    if not entries:
        return
    run(["blockdev", "--flushbufs", fs.device])
    target = f"{os.fspath(image)}@@{fs.offset}"
    argv = ["mcopy", "-i", target, "-s", "-p", "-m", "-Q", "-o"]  # not -b: it breaks @@offset
    argv += [*(os.fspath(e) for e in entries), "::/"]
    run(argv, env=base_env({"MTOOLS_SKIP_CHECK": "1"}))


def empty(directory: Path) -> None:
    """Remove what is inside `directory`, keeping the directory (a mount point)."""
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
