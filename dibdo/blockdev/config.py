"""The block-device configuration: DIB's YAML (tree or graph form) parsed, validated as a
whole, and frozen.

    text, source = read_source(value_of_DIB_BLOCK_DEVICE_CONFIG)   # or an element's file
    config = load(text, source=source, defaults=RootDefaults("ext4"))
    BlockConfig.from_json(config.to_json()) == config

Every node is checked before any device is touched: unknown node types and options,
missing or wrongly typed bases, duplicate names, cycles, partitions that do not fit a
known disk size, two mounts on one point, no root mount, bad sizes, labels too long for
their file system or used twice. All problems are reported at once, each with the YAML
path where it was written. The frozen result is the graph form with every default filled
in (root defaults, labels, stable UUIDs), which is what is saved as JSON.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from dibdo.blockdev import checks, fstab, localloop, lvm, mkfs, mount, partitioning
from dibdo.blockdev._lvmspec import LvmSpec
from dibdo.blockdev._partspec import PartitioningSpec
from dibdo.blockdev._tree import flatten
from dibdo.blockdev.fstab import FstabSpec
from dibdo.blockdev.graph import order
from dibdo.blockdev.localloop import LocalLoopSpec
from dibdo.blockdev.mkfs import MkfsSpec
from dibdo.blockdev.mount import MountSpec
from dibdo.blockdev.schema import NodeType, Problems, RawNode
from dibdo.errors import ConfigError

NODE_TYPES: dict[str, NodeType] = {t.key: t for t in (
    localloop.TYPE, partitioning.TYPE, lvm.TYPE, mkfs.TYPE, mount.TYPE, fstab.TYPE)}  # fmt: skip
AnySpec = LocalLoopSpec | PartitioningSpec | LvmSpec | MkfsSpec | MountSpec | FstabSpec
JSON_VERSION = 1

# The default of the `vm` element: one bootable primary MBR partition with the root.
DEFAULT_YAML = """\
- local_loop:
    name: image0
- partitioning:
    base: image0
    label: mbr
    partitions:
      - name: root
        flags: [boot, primary]
        size: 100%
        mkfs:
          mount:
            mount_point: /
            fstab:
              options: defaults
              fsck-passno: 1
"""


@dataclass(frozen=True)
class RootDefaults:
    """The build's root file-system settings (DIB_ROOT_FSTYPE, --mkfs-options,
    DIB_ROOT_LABEL), applied to the node named mkfs_root where it does not say."""

    fs_type: str = "ext4"
    fs_opts: str = ""
    label: str | None = None


@dataclass(frozen=True)
class BlockConfig:
    """A validated block-device configuration: its nodes in graph form, in written order."""

    nodes: tuple[AnySpec, ...]
    source: str = field(default="", compare=False)

    def to_json(self) -> str:
        nodes = [n.to_yaml() for n in self.nodes]
        return json.dumps({"version": JSON_VERSION, "nodes": nodes}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, source: str = "saved block-device config") -> BlockConfig:
        data = json.loads(text)
        if data.get("version") != JSON_VERSION:
            raise ConfigError(f"{source}: unknown version {data.get('version')!r}")
        return parse(data["nodes"], source=source)

    def digest(self) -> str:
        """A digest of the canonical configuration."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @property
    def disk(self) -> LocalLoopSpec:
        return next(n for n in self.nodes if isinstance(n, LocalLoopSpec))

    @property
    def mounts(self) -> tuple[MountSpec, ...]:
        """The mounts in mount order (parents first)."""
        found = [n for n in self.nodes if isinstance(n, MountSpec)]
        return tuple(sorted(found, key=lambda m: m.mount_point))

    def mkfs(self, name: str) -> MkfsSpec:
        return next(n for n in self.nodes if isinstance(n, MkfsSpec) and n.name == name)

    def fs_at(self, mount_point: str) -> MkfsSpec:
        return self.mkfs(next(m.base for m in self.mounts if m.mount_point == mount_point))

    @property
    def root(self) -> MkfsSpec:
        return self.fs_at("/")

    def getval(self) -> dict[str, str]:
        """The values DIB's `dib-block-device getval` knows before anything is made."""
        points = [m.mount_point for m in self.mounts]
        boot = self.fs_at("/boot") if "/boot" in points else self.root
        return {
            "root-label": self.root.label,
            "root-fstype": self.root.type,
            "boot-label": boot.label,
            "mount-points": "|".join(points),
        }


def read_source(value: str) -> tuple[str, str]:
    """(YAML text, description) of DIB_BLOCK_DEVICE_CONFIG: inline YAML or file://PATH."""
    if value.startswith("file://"):
        path = Path(value[len("file://") :])
        try:
            return path.read_text(), str(path)
        except OSError as exc:
            raise ConfigError(
                f"cannot read the block-device config {path}: {exc.strerror}",
                hint="DIB_BLOCK_DEVICE_CONFIG=file://PATH names a YAML file",
            ) from None
    return value, "DIB_BLOCK_DEVICE_CONFIG"


def load(
    text: str,
    *,
    source: str = "",
    defaults: RootDefaults | None = None,
    disk_size: int | None = None,
) -> BlockConfig:
    """Parse and validate YAML `text`; `disk_size` (bytes) also checks that it all fits."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = f" {source}" if source else ""
        raise ConfigError(f"the block-device config{where} is not valid YAML: {exc}") from None
    return parse(data, source=source, defaults=defaults, disk_size=disk_size)


def parse(
    data: Any,
    *,
    source: str = "",
    defaults: RootDefaults | None = None,
    disk_size: int | None = None,
) -> BlockConfig:
    """Validate already-loaded YAML `data` (see `load`)."""
    problems = Problems()
    raws = [
        _root_defaults(r, defaults or RootDefaults()) for r in flatten(data, NODE_TYPES, problems)
    ]
    specs: list[AnySpec] = []
    for raw in raws:
        spec = NODE_TYPES[raw.kind].parse(raw, problems)
        if spec is not None:
            specs.append(spec)
    checks.check_graph(specs, problems)
    if not problems.items:
        _check_order(specs, problems)
    if not problems.items:
        checks.check_fit(specs, disk_size, problems)
    problems.check(source)
    return BlockConfig(_with_uuids(specs), source)


def _root_defaults(raw: RawNode, defaults: RootDefaults) -> RawNode:
    """DIB's rule: the mkfs named mkfs_root takes the build's type, options and label."""
    if raw.kind != "mkfs" or raw.name != "mkfs_root":
        return raw
    values = dict(raw.values)
    values.setdefault("type", defaults.fs_type)
    if defaults.fs_opts:
        values.setdefault("opts", defaults.fs_opts)
    if "label" not in values:
        fallback = "img-rootfs" if values["type"] == "xfs" else "cloudimg-rootfs"
        values["label"] = defaults.label or fallback
    return RawNode(raw.kind, raw.path, values)


def _check_order(specs: list[AnySpec], problems: Problems) -> None:
    after = mount.mount_order([s for s in specs if isinstance(s, MountSpec)])
    try:
        order(specs, after=after)
    except graphlib.CycleError as exc:
        names = [specs[i].name for i in exc.args[1]]
        first = specs[exc.args[1][0]]
        problems.add(first.path, "cycle: " + " -> ".join(names), node=first.name)


def _with_uuids(specs: list[AnySpec]) -> tuple[AnySpec, ...]:
    """Fill in each missing file-system UUID, derived from the whole configuration so that
    the same configuration always makes the same file systems."""
    seed = hashlib.sha256(json.dumps([s.to_yaml() for s in specs], sort_keys=True).encode())
    out: list[AnySpec] = []
    for spec in specs:
        if isinstance(spec, MkfsSpec) and not spec.uuid:
            name = f"dibdo-blockdev:{seed.hexdigest()}:{spec.name}"
            spec = replace(spec, uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, name)))
        out.append(spec)
    return tuple(out)


def by_name(config: BlockConfig) -> Mapping[str, AnySpec]:
    """The nodes of `config` by name."""
    return {n.name: n for n in config.nodes}


def reference() -> str:
    """The node types, their options and the host commands they run, for the docs."""
    lines: list[str] = []
    for node_type in NODE_TYPES.values():
        lines += [f"{node_type.key}: {node_type.doc}"]
        if node_type.commands:
            lines.append(f"  runs: {', '.join(node_type.commands)}")
        for f in node_type.fields:
            lines.append(f"  {f.key}{' (required)' if f.required else ''}: {f.doc}")
    return "\n".join(lines) + "\n"
