"""Where partitions go: alignment, percentages, GPT's backup area, MBR numbering."""

from __future__ import annotations

import pytest
from blockdev_fixtures import GPT_YAML, LVM_YAML

from dibdo.blockdev._partspec import PartitioningSpec
from dibdo.blockdev.config import load
from dibdo.blockdev.layout import device_sizes, plan_table
from dibdo.blockdev.schema import Problems
from dibdo.errors import ConfigError

MIB = 1 << 20


def _table(partitions: str, label: str = "mbr") -> PartitioningSpec:
    text = (
        "- local_loop: {name: image0}\n"
        f"- partitioning: {{base: image0, label: {label}, partitions: [{partitions}]}}\n"
        "- mkfs: {name: r, base: a, type: ext4, mount: {mount_point: /}}\n"
    )
    spec = load(text).nodes[1]
    assert isinstance(spec, PartitioningSpec)
    return spec


def test_percentages_take_their_share_of_what_is_left() -> None:
    spec = _table("{name: a, size: 50%, flags: [primary]}, {name: b, size: 100%, flags: [primary]}")
    plan = plan_table(spec, 101 * MIB)
    assert plan is not None
    a, b = plan.partitions
    assert (a.start, a.size) == (MIB, 50 * MIB)
    assert (b.start, b.start + b.size) == (51 * MIB, 101 * MIB)


def test_gpt_leaves_the_backup_table_at_the_end() -> None:
    plan = plan_table(_table("{name: a, size: 100%}", label="gpt"), 64 * MIB)
    assert plan is not None
    assert plan.partitions[0].start == MIB
    assert plan.partitions[0].start + plan.partitions[0].size == 64 * MIB - 33 * 512


def test_mbr_logicals_follow_their_ebr_and_are_numbered_from_five() -> None:
    spec = _table(
        "{name: a, size: 8MiB, flags: [primary]}, {name: b, size: 8MiB}, " "{name: c, size: 100%}"
    )
    plan = plan_table(spec, 64 * MIB)
    assert plan is not None
    assert [(p.name, p.number, p.logical) for p in plan.partitions] == [
        ("a", 1, False),
        ("b", 5, True),
        ("c", 6, True),
    ]
    b, c = plan.partitions[1:]
    assert (b.ebr, b.start, c.ebr, c.start) == (9 * MIB, 10 * MIB, 18 * MIB, 19 * MIB)
    assert plan.extended == (9 * MIB, 55 * MIB)


def test_a_primary_after_logicals_takes_the_next_slot() -> None:
    spec = _table(
        "{name: a, size: 4MiB}, {name: b, size: 4MiB}, " "{name: c, size: 100%, flags: [primary]}"
    )
    plan = plan_table(spec, 64 * MIB)
    assert plan is not None
    assert [p.number for p in plan.partitions] == [5, 6, 2]


def test_logical_partitions_must_be_contiguous() -> None:
    with pytest.raises(ConfigError, match="logical partitions must follow each other"):
        _table(
            "{name: a, size: 4MiB}, {name: b, size: 4MiB, flags: [primary]}, "
            "{name: c, size: 100%}"
        )


def test_an_mbr_cannot_address_more_than_2_tib() -> None:
    problems = Problems()
    assert plan_table(_table("{name: a, flags: [primary]}"), 3 << 40, problems) is None
    assert "an MBR cannot address a 3 TiB disk" in problems.items[0]


def test_device_sizes_follow_partitions_into_lvm_volumes() -> None:
    sizes = device_sizes(load(LVM_YAML).nodes, 1024 * MIB)
    assert sizes["root"] == 1023 * MIB
    extents = (1023 - 1) // 4  # 1 MiB of LVM metadata, 4 MiB extents
    assert sizes["lv_root"] == extents * 85 // 100 * 4 * MIB
    assert sizes["lv_var"] == extents * 10 // 100 * 4 * MIB


def test_device_sizes_of_fixed_partitions_do_not_depend_on_the_disk() -> None:
    small, large = (device_sizes(load(GPT_YAML).nodes, n * MIB) for n in (64, 640))
    assert small["ESP"] == large["ESP"] == 16 * MIB
    assert large["root"] - small["root"] == 576 * MIB
