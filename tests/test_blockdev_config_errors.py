"""Broken block-device configs are rejected before any device is touched, every problem
named with its YAML path and node, all of them at once."""

from __future__ import annotations

import pytest
from blockdev_fixtures import GPT_YAML, LVM_YAML

from dibdo.blockdev.config import DEFAULT_YAML, load
from dibdo.blockdev.units import MIB
from dibdo.errors import ConfigError

DISK = "- local_loop: {name: image0}\n"
ROOT = (
    "- partitioning: {base: image0, label: mbr, partitions: [{name: root, flags: [primary]}]}\n"
    "- mkfs: {name: mkfs_root, base: root, mount: {mount_point: /}}\n"
)
TWO_LVMS = (
    DISK
    + ROOT
    + """\
- lvm:
    name: a
    base: [lv_b]
    pvs: [{name: pv_a, base: lv_b}]
    vgs: [{name: vg_a, base: [pv_a]}]
    lvs: [{name: lv_a, base: vg_a, extents: 100%FREE}]
- lvm:
    name: b
    base: [lv_a]
    pvs: [{name: pv_b, base: lv_a}]
    vgs: [{name: vg_b, base: [pv_b]}]
    lvs: [{name: lv_b, base: vg_b, extents: 100%FREE}]
"""
)

LONG_LABEL = DEFAULT_YAML.replace("mkfs:\n", "mkfs:\n          label: x234567890abcdefg\n")

CASES = [
    (
        "unknown node",
        DISK + ROOT + "- raid: {name: md0}\n",
        "block-device[3]: unknown node type 'raid'",
    ),
    (
        "missing base",
        DISK + ROOT + "- mkfs: {name: data, base: nowhere, type: ext4}\n",
        "block-device[3].mkfs.base: 'nowhere' is not defined by any node (node 'data')",
    ),
    (
        "wrong base",
        DISK + ROOT + "- mount: {name: m, base: root, mount_point: /srv}\n",
        "block-device[3].mount.base: 'root' is a block device, not a file system",
    ),
    ("cycle", TWO_LVMS, "block-device[3].lvm: cycle: a -> b -> a"),
    (
        "two mounts on one point",
        DISK + ROOT + "- mkfs: {name: other, base: image0, type: ext4, mount: {mount_point: /}}\n",
        "block-device[3].mkfs.mount.mount_point: '/' is already the mount point of "
        "'mount_mkfs_root'",
    ),
    (
        "bad size",
        DEFAULT_YAML.replace("100%", "12XB"),
        "block-device[1].partitioning.partitions[0].size: '12XB' is not a size",
    ),
    (
        "label too long",
        LONG_LABEL,
        "block-device[1].partitioning.partitions[0].mkfs.label: longer than 16 characters",
    ),
    (
        "xfs label",
        LVM_YAML.replace('"img-rootfs"', "cloudimg-rootfs"),
        "block-device[3].mkfs.label: longer than 12 characters for xfs",
    ),
    (
        "unknown option",
        DEFAULT_YAML.replace("mount_point: /", "mount_point: /\n            rw: 1"),
        "block-device[1].partitioning.partitions[0].mkfs.mount.rw: unknown option for mount",
    ),
    (
        "duplicate name",
        DISK + ROOT + "- local_loop: {name: root}\n",
        "block-device[3].local_loop: only one local_loop",
    ),
    (
        "no root",
        DISK + ROOT.replace("mount_point: /", "mount_point: /srv"),
        "block-device: no file system is mounted at /",
    ),
    (
        "thin lv",
        LVM_YAML.replace("extents: 10%VG", "extents: 10%VG\n        type: thin"),
        "block-device[2].lvm.lvs[1].type: 'thin' volumes are not supported",
    ),
    (
        "five primaries",
        DEFAULT_YAML.replace(
            "      - name: root\n",
            "".join(f"      - {{name: p{i}, flags: [primary], size: 1MiB}}\n" for i in range(4))
            + "      - name: root\n",
        ),
        "block-device[1].partitioning.partitions: an MBR has 4 primary slots but this needs 5",
    ),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_config_is_rejected_with_its_path(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(text)
    assert message in err.value.message


def test_partitions_that_do_not_fit_the_disk_size_are_named() -> None:
    with pytest.raises(ConfigError) as err:
        load(GPT_YAML, disk_size=20 * MIB)
    assert (
        "block-device[1].partitioning.partitions[1].size: partition 'BSP' needs 8 MiB but "
        "only 2.984 MiB is left of the 20 MiB disk"
    ) in err.value.message


def test_every_problem_is_reported_at_once() -> None:
    text = (
        DEFAULT_YAML.replace("100%", "12XB").replace(
            "mkfs:\n", "mkfs:\n          label: " "a-label-of-20-chars\n"
        )
        + "- raid: {}\n"
    )
    with pytest.raises(ConfigError) as err:
        load(text, source="test.yaml")
    lines = err.value.message.splitlines()
    assert lines[0] == "3 errors in the block-device config (test.yaml)"
    assert len(lines) == 4


def test_yaml_that_is_not_a_list_of_nodes_is_rejected() -> None:
    with pytest.raises(ConfigError, match="must be a list of nodes"):
        load("local_loop: {name: image0}")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load("- [unclosed")
