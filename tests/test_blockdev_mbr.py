"""Our MBR writer, checked by reading its output back with sfdisk (plain files, no root)."""

from __future__ import annotations

from pathlib import Path

import pytest
from blockdev_fixtures import sfdisk_json

from dibdo.blockdev import mbr
from dibdo.blockdev._partspec import PartitioningSpec
from dibdo.blockdev.config import load
from dibdo.blockdev.layout import plan_table
from dibdo.blockdev.partitioning import write_table

MIB = 1 << 20


def _image(tmp_path: Path, size: int = 64 * MIB) -> Path:
    image = tmp_path / "disk.raw"
    with open(image, "wb") as fh:
        fh.truncate(size)
    return image


def test_primary_extended_and_logicals_read_back_with_sfdisk(tmp_path: Path) -> None:
    text = (
        "- local_loop: {name: image0}\n- partitioning:\n    base: image0\n    label: mbr\n"
        "    partitions:\n      - {name: boot, size: 8MiB, flags: [boot, primary]}\n"
        "      - {name: swap, size: 8MiB, type: 0x82}\n      - {name: root, size: 100%}\n"
        "- mkfs: {name: r, base: root, type: ext4, mount: {mount_point: /}}\n"
    )
    spec = load(text).nodes[1]
    assert isinstance(spec, PartitioningSpec)
    plan = plan_table(spec, 64 * MIB)
    assert plan is not None
    write_table(plan, _image(tmp_path), seed="test")
    table = sfdisk_json(tmp_path / "disk.raw")
    parts = [
        (p["start"], p["size"], p["type"], p.get("bootable", False)) for p in table["partitions"]
    ]  # type: ignore[attr-defined]
    assert table["label"] == "dos"
    assert parts == [
        (2048, 16384, "83", True),
        (18432, 112640, "5", False),
        (20480, 16384, "82", False),
        (38912, 92160, "83", False),
    ]


def test_writer_keeps_boot_code_and_sets_the_signature(tmp_path: Path) -> None:
    image = _image(tmp_path)
    image.write_bytes(b"\xeb" * 440 + bytes(64 * MIB - 440))
    mbr.write_mbr(image, [mbr.Entry(2048, 4096, 0x83)], signature=0x12345678)
    data = image.read_bytes()[:512]
    assert data[:440] == b"\xeb" * 440
    assert data[440:444] == bytes.fromhex("78563412") and data[510:] == b"\x55\xaa"
    assert sfdisk_json(image)["id"] == "0x12345678"


def test_chs_is_computed_for_small_and_saturated_for_large_addresses() -> None:
    assert mbr.chs(2048) == bytes((32, 33, 0))
    assert mbr.chs(1024 * 255 * 63) == bytes((254, 0xFF, 0xFF))


def test_entries_beyond_32_bit_sectors_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit a 32-bit MBR"):
        mbr.encode_entry(mbr.Entry(2**32, 2048, 0x83))


def test_logicals_need_an_extended_partition(tmp_path: Path) -> None:
    logical = mbr.Logical(2048, mbr.Entry(4096, 2048, 0x83))
    with pytest.raises(ValueError, match="extended partition"):
        mbr.write_mbr(_image(tmp_path), [mbr.Entry(2048, 4096, 0x83)], [logical], signature=1)
