"""Our own MBR (DOS) partition-table writer.

Why it exists: the partition table is 64 bytes in the first sector (plus one small table
per logical partition), and we have already computed every start and size ourselves
(`layout.plan_table`, which sizing and validation use too). fdisk, sfdisk and parted each
re-align, re-order or round what they are given in version-dependent ways, and want
their input in their own language; writing the entries ourselves makes the disk exactly
what the plan says, on a plain file, with no device and no root.

What it writes: the disk signature, up to four primary entries (one may be the extended
partition, type 0x05), the 0x55AA marker, and for logical partitions one extended boot
record (EBR) each, chained the standard way (the next-EBR entry is relative to the start
of the extended partition, the partition entry relative to its own EBR). Only bytes 440
to 511 of each such sector are written: boot code (grub's) is left alone.

Not supported: sector sizes other than 512 bytes, disks or partitions beyond 2 TiB (32-bit
LBA; the plan refuses them), more than one extended partition, reading or editing an
existing table, CHS-only geometry (CHS fields are filled for 255 heads, 63 sectors, and
saturate beyond cylinder 1023 as every current tool expects).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SECTOR = 512
EXTENDED = 0x05
_HEADS, _SECTORS = 255, 63
_MAX_LBA = 2**32 - 1


@dataclass(frozen=True)
class Entry:
    """One partition entry: first sector (absolute LBA), sector count, type byte."""

    start: int
    sectors: int
    type: int
    bootable: bool = False


@dataclass(frozen=True)
class Logical:
    """A logical partition and the sector of the EBR that describes it."""

    ebr: int
    entry: Entry


def chs(lba: int) -> bytes:
    """The 3-byte CHS address of `lba` (saturated beyond what CHS can address)."""
    cylinder, rest = divmod(lba, _HEADS * _SECTORS)
    if cylinder > 1023:
        cylinder, head, sector = 1023, _HEADS - 1, _SECTORS
    else:
        head, sector = rest // _SECTORS, rest % _SECTORS + 1
    return bytes((head, sector | ((cylinder >> 2) & 0xC0), cylinder & 0xFF))


def encode_entry(entry: Entry, *, relative_to: int = 0) -> bytes:
    """The 16 bytes of a partition entry; its LBA is stored relative to `relative_to`."""
    first, last = entry.start, entry.start + entry.sectors - 1
    lba = first - relative_to
    if not (0 <= lba <= _MAX_LBA and 0 < entry.sectors <= _MAX_LBA and last <= _MAX_LBA):
        raise ValueError(f"partition at sector {first} does not fit a 32-bit MBR")
    status = 0x80 if entry.bootable else 0x00
    return (
        bytes((status,))
        + chs(first)
        + bytes((entry.type,))
        + chs(last)
        + struct.pack("<II", lba, entry.sectors)
    )


def _table(entries: Sequence[bytes]) -> bytes:
    """Four 16-byte entries (missing ones zero) and the boot signature."""
    slots = [*entries, *([bytes(16)] * (4 - len(entries)))]
    return b"".join(slots) + b"\x55\xaa"


def mbr_sector_tail(primaries: Sequence[Entry], *, signature: int) -> bytes:
    """Bytes 440-511 of the MBR: disk signature, two zero bytes, table, 0x55AA."""
    if len(primaries) > 4:
        raise ValueError("an MBR holds at most 4 primary entries")
    return struct.pack("<IH", signature, 0) + _table([encode_entry(e) for e in primaries])


def ebr_tail(logical: Logical, following: Logical | None, *, extended_start: int) -> bytes:
    """Bytes 446-511 of an EBR: this logical partition and the link to the next EBR."""
    entries = [encode_entry(logical.entry, relative_to=logical.ebr)]
    if following is not None:
        end = following.entry.start + following.entry.sectors
        link = Entry(following.ebr, end - following.ebr, EXTENDED)
        entries.append(encode_entry(link, relative_to=extended_start))
    return _table(entries)


def write_mbr(
    image: Path,
    primaries: Sequence[Entry],
    logicals: Sequence[Logical] = (),
    *,
    signature: int,
) -> None:
    """Write the table into `image` (a file or a device): the MBR and one EBR per logical.

    `primaries` are in slot order; with logicals, one of them must be the extended
    partition (type 0x05) covering every EBR and logical partition."""
    extended = [e for e in primaries if e.type == EXTENDED]
    if logicals and len(extended) != 1:
        raise ValueError("logical partitions need exactly one extended partition")
    fd = os.open(image, os.O_WRONLY)
    try:
        os.pwrite(fd, mbr_sector_tail(primaries, signature=signature), 440)
        for i, logical in enumerate(logicals):
            following = logicals[i + 1] if i + 1 < len(logicals) else None
            tail = ebr_tail(logical, following, extended_start=extended[0].start)
            os.pwrite(fd, tail, logical.ebr * SECTOR + 446)
        os.fsync(fd)
    finally:
        os.close(fd)
