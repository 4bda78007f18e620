"""What the nodes make, as frozen results passed from a node to its dependents.

A node's `create()` returns one result per name it provides; the runner hands each
dependent only the results of the names it asked for. Nothing else is shared.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

By = Literal["label", "uuid"]


@dataclass(frozen=True)
class BlockDev:
    """A block device: the whole disk, a partition or a logical volume.

    `offset` and `size` locate it in the image file (bytes)."""

    name: str
    device: Path
    offset: int
    size: int


@dataclass(frozen=True)
class Filesystem:
    """A file system made on a block device; `offset` and `size` locate it in the image."""

    name: str
    device: Path
    fstype: str
    uuid: str
    label: str
    opts: tuple[str, ...]
    offset: int
    size: int


@dataclass(frozen=True)
class Mounted:
    """A file system at its mount point `path` on the host.

    `staged` is true for a vfat file system the kernel cannot mount: `path` is then a plain
    directory whose content is copied into the file system (mtools) when it is released."""

    name: str
    mount_point: str
    path: Path
    fs: Filesystem
    staged: bool


@dataclass(frozen=True)
class FstabEntry:
    """One line of the image's /etc/fstab."""

    name: str
    mount_point: str
    fs: Filesystem
    options: str
    dump_freq: int
    fsck_passno: int

    def line(self, *, by: By = "label") -> str:
        """The fstab line, naming the file system by its label (as DIB does) or UUID."""
        spec = f"LABEL={self.fs.label}" if by == "label" else f"UUID={self.fs.uuid}"
        fields = (spec, self.mount_point, self.fs.fstype, self.options)
        return " ".join((*fields, str(self.dump_freq), str(self.fsck_passno)))


Result = BlockDev | Filesystem | Mounted | FstabEntry


def describe(result: Result) -> str:
    """A short description for logs."""
    if isinstance(result, BlockDev):
        return f"{result.name}: {os.fspath(result.device)}"
    if isinstance(result, Filesystem):
        return f"{result.name}: {result.fstype} '{result.label}' on {os.fspath(result.device)}"
    if isinstance(result, Mounted):
        return f"{result.name}: {result.mount_point} at {os.fspath(result.path)}"
    return f"{result.name}: {result.line()}"
