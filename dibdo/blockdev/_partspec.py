"""The `partitioning` node's options, parsed and checked (no devices, no layout math).

Sizes are bytes, units or percentages of the space left (see `units`). Flags: `boot`
(MBR active flag; on GPT the legacy-BIOS-bootable attribute), `primary` and `logical`
(MBR only: as in DIB, a partition not flagged `primary` is a logical one inside the
extended partition). Types: an MBR type byte (`0x83`, default) or a GPT type, either an
sgdisk code (`EF00`, `8300`, default) or a GUID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dibdo.blockdev.schema import Field, Need, Problems, RawNode, Role, string_list, text
from dibdo.blockdev.units import MIB, SECTOR, Size, parse_bytes, parse_size

LABELS = ("mbr", "gpt")
FLAGS = ("boot", "primary", "logical")
_GPT_CODE = re.compile(r"[0-9A-Fa-f]{4}")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")
_HEX = re.compile(r"(0x)?[0-9A-Fa-f]{1,2}")

FIELDS = (
    Field("name", "Name of the partitioning node (default partitioning_<base>)."),
    Field("base", "The disk (a local_loop) to partition.", required=True),
    Field("label", "Partition table type: mbr or gpt.", required=True),
    Field("align", "Alignment of partition starts (default 1MiB)."),
    Field("partitions", "The partitions, in order: name, size, flags, type.", required=True),
)
PARTITION_FIELDS = ("name", "size", "flags", "type")


@dataclass(frozen=True)
class PartitionSpec:
    """One partition as configured."""

    name: str
    size: Size
    flags: tuple[str, ...] = ()
    type: str = ""
    path: str = field(default="", compare=False)

    @property
    def bootable(self) -> bool:
        return "boot" in self.flags

    def to_yaml(self) -> dict[str, Any]:
        values: dict[str, Any] = {"name": self.name, "size": self.size.to_yaml()}
        if self.flags:
            values["flags"] = list(self.flags)
        values["type"] = self.type
        return values


@dataclass(frozen=True)
class PartitioningSpec:
    """A partition table on a disk."""

    name: str
    base: str
    label: str
    align: int
    partitions: tuple[PartitionSpec, ...]
    path: str = field(default="", compare=False)

    def needs(self) -> tuple[Need, ...]:
        return (Need(self.base, frozenset({Role.DISK}), f"{self.path}.base"),)

    def provides(self) -> tuple[tuple[str, Role], ...]:
        return ((self.name, Role.OTHER), *((p.name, Role.DEVICE) for p in self.partitions))

    def to_yaml(self) -> dict[str, Any]:
        return {"partitioning": {
            "name": self.name, "base": self.base, "label": self.label, "align": self.align,
            "partitions": [p.to_yaml() for p in self.partitions],
        }}  # fmt: skip


def parse_partitioning(raw: RawNode, problems: Problems) -> PartitioningSpec | None:
    """The spec of a partitioning node, or None after reporting its problems."""
    label = text(raw.values, "label") or ""
    if label not in LABELS:
        problems.add(f"{raw.path}.label", f"'{label}' is not one of mbr, gpt", node=raw.name)
        return None
    align = MIB
    if "align" in raw.values:
        try:
            align = parse_bytes(raw.values["align"])
        except ValueError as exc:
            problems.add(f"{raw.path}.align", str(exc), node=raw.name)
        if align <= 0 or align % SECTOR:
            problems.add(f"{raw.path}.align", "must be a multiple of 512 bytes", node=raw.name)
            align = MIB
    items = raw.values.get("partitions")
    if not isinstance(items, list) or not items:
        problems.add(f"{raw.path}.partitions", "must be a non-empty list", node=raw.name)
        return None
    parts = [
        _partition(p, label, f"{raw.path}.partitions[{i}]", problems) for i, p in enumerate(items)
    ]
    good = tuple(p for p in parts if p is not None)
    base = text(raw.values, "base") or ""
    spec = PartitioningSpec(raw.name, base, label, align, good, raw.path)
    partition_numbers(spec, problems)
    return spec


def _partition(value: Any, label: str, path: str, problems: Problems) -> PartitionSpec | None:
    if not isinstance(value, dict):
        problems.add(path, "each partition must be a mapping")
        return None
    name = text(value, "name") or ""
    for key in value:
        if key not in PARTITION_FIELDS:
            problems.add(f"{path}.{key}", "unknown option for a partition", node=name)
    if not name:
        problems.add(f"{path}.name", "missing")
    try:
        size = parse_size(value.get("size", "100%"))
    except ValueError as exc:
        problems.add(f"{path}.size", str(exc), node=name)
        size = Size(percent=100)
    flags = string_list(value.get("flags"))
    for flag in flags:
        if flag not in FLAGS:
            problems.add(
                f"{path}.flags",
                f"unknown flag '{flag}' (known: boot, primary, " "logical)",
                node=name,
            )
    if "primary" in flags and "logical" in flags:
        problems.add(f"{path}.flags", "a partition cannot be both primary and logical", node=name)
    if label == "mbr" and "primary" not in flags and "logical" not in flags:
        flags = (*flags, "logical")
    kind = _type(value.get("type"), label, f"{path}.type", name, problems)
    return PartitionSpec(name, size, flags, kind, path) if name else None


def _type(value: Any, label: str, path: str, name: str, problems: Problems) -> str:
    """The partition type normalised: "0x83" for MBR, "8300" or a GUID for GPT."""
    if value is None:
        return "0x83" if label == "mbr" else "8300"
    if label == "mbr":
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 256:
            return f"0x{value:02x}"
        if isinstance(value, str) and _HEX.fullmatch(value) and int(value, 16) > 0:
            return f"0x{int(value, 16):02x}"
        problems.add(path, f"{value!r} is not an MBR partition type (a byte, like 0x83)", node=name)
        return "0x83"
    code = str(value)
    if _GPT_CODE.fullmatch(code) or _GUID.fullmatch(code):
        return code.upper()
    problems.add(
        path, f"{value!r} is not a GPT type (an sgdisk code like EF00, or a GUID)", node=name
    )
    return "8300"


def partition_numbers(spec: PartitioningSpec, problems: Problems) -> list[int]:
    """Partition numbers: GPT counts 1, 2, ...; MBR primaries take slots 1-4 in order (the
    extended partition takes the slot where the first logical appears), logicals 5, 6, ..."""
    if spec.label == "gpt":
        return list(range(1, len(spec.partitions) + 1))
    numbers: list[int] = []
    slot, logical_no, run_ended = 0, 4, False
    for part in spec.partitions:
        if "logical" in part.flags:
            if run_ended:
                problems.add(
                    f"{part.path}.flags",
                    "logical partitions must follow each other "
                    "(there is one extended partition)",
                    node=spec.name,
                )
            if logical_no == 4:
                slot += 1
            logical_no += 1
            numbers.append(logical_no)
            continue
        run_ended = logical_no > 4
        slot += 1
        numbers.append(slot)
    if slot > 4:
        problems.add(
            f"{spec.path}.partitions",
            f"an MBR has 4 primary slots but this needs "
            f"{slot} (the extended partition takes one); flag some partitions "
            "logical or use gpt",
            node=spec.name,
        )
    return numbers
