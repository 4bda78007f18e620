"""Level 2, `mkfs`: a file system on a block device.

Types: ext2, ext3, ext4, xfs, vfat, btrfs. The label defaults to the node's name (vfat
labels are upper-cased) and must fit the type (ext 16, xfs 12, vfat 11 characters); the
mkfs named `mkfs_root` takes the build's root defaults (type, options, label
`cloudimg-rootfs`, or `img-rootfs` for xfs) as in DIB. The UUID is given or derived from
the configuration (stable across rebuilds). `opts` are passed to mkfs before our own
options. create: run mkfs (for ext* given a tree to build from: `mkfs.ext4 -d TREE`);
nothing to undo. Host commands: mkfs.ext2/3/4, mkfs.xfs, mkfs.vfat, mkfs.btrfs.
"""

from __future__ import annotations

import os
import re
import shlex
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dibdo.blockdev.graph import Context, NodeBase
from dibdo.blockdev.results import BlockDev, Filesystem, Result
from dibdo.blockdev.schema import Field, Need, NodeType, Problems, RawNode, Role, text
from dibdo.errors import DeviceError, StepFailed
from dibdo.run import run

MAX_LABEL = {"ext2": 16, "ext3": 16, "ext4": 16, "xfs": 12, "vfat": 11, "btrfs": 255}
EXT = ("ext2", "ext3", "ext4")
_VFAT_ID = re.compile(r"([0-9A-Fa-f]{4})-?([0-9A-Fa-f]{4})")


@dataclass(frozen=True)
class MkfsSpec:
    """A file system to make."""

    name: str
    base: str
    type: str
    label: str
    uuid: str = ""
    opts: tuple[str, ...] = ()
    path: str = field(default="", compare=False)

    def needs(self) -> tuple[Need, ...]:
        return (Need(self.base, frozenset({Role.DEVICE, Role.DISK}), f"{self.path}.base"),)

    def provides(self) -> tuple[tuple[str, Role], ...]:
        return ((self.name, Role.FS),)

    def to_yaml(self) -> dict[str, Any]:
        return {
            "mkfs": {
                "name": self.name,
                "base": self.base,
                "type": self.type,
                "label": self.label,
                "uuid": self.uuid,
                "opts": shlex.join(self.opts),
            }
        }


def parse(raw: RawNode, problems: Problems) -> MkfsSpec | None:
    if not TYPE.check_keys(raw, problems):
        return None
    fstype = text(raw.values, "type") or ""
    if not fstype:
        problems.add(f"{raw.path}.type", f"missing (one of {', '.join(MAX_LABEL)})", node=raw.name)
        return None
    if fstype not in MAX_LABEL:
        known = ", ".join(MAX_LABEL)
        problems.add(
            f"{raw.path}.type",
            f"'{fstype}' is not a supported file system ({known})",
            node=raw.name,
        )
        return None
    label = text(raw.values, "label") or raw.name
    label = label.upper() if fstype == "vfat" else label
    if len(label) > MAX_LABEL[fstype]:
        problems.add(
            f"{raw.path}.label",
            f"longer than {MAX_LABEL[fstype]} characters for " f"{fstype}: '{label}'",
            node=raw.name,
        )
    fs_uuid = text(raw.values, "uuid") or ""
    if fs_uuid and not _valid_uuid(fs_uuid, fstype):
        problems.add(f"{raw.path}.uuid", f"'{fs_uuid}' is not a UUID for {fstype}", node=raw.name)
    opts = tuple(shlex.split(text(raw.values, "opts") or ""))
    return MkfsSpec(
        raw.name, text(raw.values, "base") or "", fstype, label, fs_uuid, opts, raw.path
    )


def _valid_uuid(value: str, fstype: str) -> bool:
    if fstype == "vfat" and _VFAT_ID.fullmatch(value):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def vfat_id(value: str) -> str:
    """The 8-hex-digit volume id of a vfat file system from its configured UUID."""
    match = _VFAT_ID.fullmatch(value)
    digits = "".join(match.groups()) if match else uuid.UUID(value).hex[:8]
    return digits.upper()


TYPE = NodeType(
    key="mkfs",
    doc="A file system on a partition, logical volume or disk.",
    commands=("mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.vfat", "mkfs.btrfs"),
    fields=(
        Field("name", "Name of the file system (default mkfs_<base>)."),
        Field("base", "The block device to make it on.", required=True),
        Field(
            "type", "ext2, ext3, ext4, xfs, vfat or btrfs (mkfs_root: the build's root " "type)."
        ),
        Field("label", "File-system label (default: the name; root: cloudimg-rootfs)."),
        Field("uuid", "File-system UUID (default: stable, derived from the configuration)."),
        Field("opts", "Extra mkfs options, one string."),
        Field("mount", "Nested mount node."),
    ),
    parse=parse,
)


def mkfs_argv(
    spec: MkfsSpec, device: os.PathLike[str], *, tree: os.PathLike[str] | None = None
) -> list[str]:
    """The mkfs command line for `spec` on `device` (ext*: filled from `tree` if given)."""
    dev = os.fspath(device)
    if spec.type in EXT:
        fill = ["-d", os.fspath(tree)] if tree is not None else []
        return [
            f"mkfs.{spec.type}",
            *spec.opts,
            "-q",
            "-F",
            "-L",
            spec.label,
            "-U",
            spec.uuid,
            *fill,
            dev,
        ]
    if spec.type == "xfs":
        return [
            "mkfs.xfs",
            *spec.opts,
            "-q",
            "-f",
            "-L",
            spec.label,
            "-m",
            f"uuid={spec.uuid}",
            dev,
        ]
    if spec.type == "vfat":
        return ["mkfs.vfat", *spec.opts, "-n", spec.label, "-i", vfat_id(spec.uuid), dev]
    return ["mkfs.btrfs", *spec.opts, "-q", "-f", "-L", spec.label, "-U", spec.uuid, dev]


class Mkfs(NodeBase):
    """create (mkfs) -> nothing to undo: the file system lives in the image."""

    def __init__(self, spec: MkfsSpec, ctx: Context) -> None:
        super().__init__(ctx)
        self.spec = spec

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]:
        base = inputs[self.spec.base]
        assert isinstance(base, BlockDev)
        tree = self.ctx.populate.get(self.spec.name)
        try:
            run(mkfs_argv(self.spec, base.device, tree=tree), capture=True)
        except StepFailed as exc:
            raise DeviceError(
                f"cannot make the {self.spec.type} file system "
                f"'{self.spec.name}' on {base.device}: {exc.message}"
            ) from None
        fs_uuid = self.spec.uuid
        if self.spec.type == "vfat":
            fs_uuid = f"{vfat_id(fs_uuid)[:4]}-{vfat_id(fs_uuid)[4:]}"
        return {
            self.spec.name: Filesystem(
                self.spec.name,
                base.device,
                self.spec.type,
                fs_uuid,
                self.spec.label,
                self.spec.opts,
                base.offset,
                base.size,
            )
        }
