"""Sizes as DIB's block-device YAML writes them, and as we print them.

An absolute size is a number of bytes, or a number (decimals allowed) with a unit:
binary KiB/MiB/GiB/TiB (powers of 1024) or decimal KB/MB/GB/TB and K/M/G/T (powers of
1000), exactly DIB's table. A relative size is a percentage of the space still free
where it is used ("100%" takes the rest). LVM sizes follow lvm's own convention instead
(single letters are powers of 1024): see `parse_lvm_size`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SECTOR = 512
KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30

_UNITS = {
    "TiB": 1 << 40, "GiB": GIB, "MiB": MIB, "KiB": KIB,
    "TB": 10**12, "GB": 10**9, "MB": 10**6, "KB": 10**3,
    "T": 10**12, "G": 10**9, "M": 10**6, "K": 10**3,
    "B": 1, "": 1,
}  # fmt: skip
_LVM_UNITS = {"": MIB, "b": 1, "s": SECTOR, "k": KIB, "m": MIB, "g": GIB, "t": 1 << 40}
_NUMBER = r"\s*(\d+(?:\.\d+)?)\s*"
_ABS = re.compile(_NUMBER + r"([A-Za-z]*)\s*")
_PCT = re.compile(_NUMBER + r"%\s*")

UNIT_HELP = "bytes, a number with a unit (KiB, MiB, GiB, TiB, KB, MB, GB, TB), or a percentage"


@dataclass(frozen=True)
class Size:
    """A size as written in the configuration: absolute bytes, or a percentage of the free
    space where it is applied."""

    bytes: int | None = None
    percent: float | None = None

    def resolve(self, free: int) -> int:
        """Bytes this size takes out of `free` bytes."""
        if self.bytes is not None:
            return self.bytes
        assert self.percent is not None
        return int(free * self.percent // 100)

    def to_yaml(self) -> str | int:
        """The value as it is written back into the canonical configuration."""
        return self.bytes if self.bytes is not None else f"{self.percent:g}%"


def parse_bytes(value: object) -> int:
    """Bytes of an absolute size; ValueError names what is wrong."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{value} is negative")
        return value
    if isinstance(value, float):
        return int(value)
    match = _ABS.fullmatch(str(value))
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"{value!r} is not a size (use {UNIT_HELP})")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def parse_size(value: object, *, relative: bool = True) -> Size:
    """A `Size` from a YAML value; percentages only when `relative`."""
    match = _PCT.fullmatch(str(value)) if isinstance(value, str) else None
    if match is None:
        return Size(bytes=parse_bytes(value))
    if not relative:
        raise ValueError(f"{value!r}: a percentage is not allowed here")
    percent = float(match.group(1))
    if not 0 < percent <= 100:
        raise ValueError(f"{value!r} is not a percentage between 0 and 100")
    return Size(percent=percent)


def parse_lvm_size(value: object) -> int:
    """Bytes of an LV size the way lvcreate -L reads it ("2G" is 2 GiB, no unit is MiB),
    or one of our own unit sizes ("2GiB", "500MB")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value * MIB
    text = str(value).strip()
    match = _ABS.fullmatch(text)
    if match and match.group(2).lower() in _LVM_UNITS and len(match.group(2)) <= 1:
        return int(float(match.group(1)) * _LVM_UNITS[match.group(2).lower()])
    return parse_bytes(text)


def align_up(value: int, align: int) -> int:
    """`value` rounded up to a multiple of `align`."""
    return -(-value // align) * align


def align_down(value: int, align: int) -> int:
    """`value` rounded down to a multiple of `align`."""
    return value // align * align


def human(size: int) -> str:
    """A size for messages: "1.5 GiB", "200 MiB", "512 bytes"."""
    for unit, factor in (("TiB", 1 << 40), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            return f"{size / factor:.4g} {unit}"
    return f"{size} bytes"
