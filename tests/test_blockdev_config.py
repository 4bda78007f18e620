"""Parsing DIB block-device YAML (tree and graph forms) and rejecting broken configs."""

from __future__ import annotations

from pathlib import Path

import pytest
from blockdev_fixtures import GPT_YAML, LVM_YAML, TALK_YAML

from dibdo.blockdev.config import (
    DEFAULT_YAML,
    BlockConfig,
    RootDefaults,
    load,
    read_source,
)
from dibdo.blockdev.units import MIB, parse_lvm_size, parse_size
from dibdo.errors import ConfigError


def _names(config: BlockConfig) -> list[str]:
    return [n.name for n in config.nodes]


def test_default_vm_config_is_one_bootable_primary_root_partition() -> None:
    config = load(DEFAULT_YAML)
    table = config.nodes[1]
    assert table.to_yaml()["partitioning"]["partitions"][0]["flags"] == ["boot", "primary"]
    assert config.root.name == "mkfs_root" and config.root.type == "ext4"
    assert config.root.label == "cloudimg-rootfs"
    assert [m.mount_point for m in config.mounts] == ["/"]


def test_talk_example_names_nested_nodes_as_dib_does() -> None:
    config = load(TALK_YAML)
    assert _names(config) == [
        "image0",
        "partitioning_image0",
        "mkfs_root",
        "mount_mkfs_root",
        "fstab_mount_mkfs_root",
    ]


def test_gpt_config_keeps_types_sizes_and_vfat_label() -> None:
    config = load(GPT_YAML)
    parts = config.nodes[1].to_yaml()["partitioning"]["partitions"]
    assert [(p["name"], p["type"], p["size"]) for p in parts] == [
        ("ESP", "EF00", 16 * MIB),
        ("BSP", "EF02", 8 * MIB),
        ("root", "8300", "100%"),
    ]
    assert config.fs_at("/boot/efi").label == "MKFS_ESP"
    assert [m.mount_point for m in config.mounts] == ["/", "/boot/efi"]


def test_lvm_config_gives_each_lv_its_file_system() -> None:
    config = load(LVM_YAML)
    assert config.root.name == "fs_root" and config.root.type == "xfs"
    assert config.fs_at("/var").base == "lv_var"
    assert config.getval()["mount-points"] == "/|/var"


GRAPH_YAML = """\
- local_loop: {name: image0}
- partitioning:
    name: partitioning_image0
    base: image0
    label: mbr
    partitions: [{name: root, flags: [boot, primary], size: 100%}]
- mkfs: {name: mkfs_root, base: root}
- mount: {name: mount_mkfs_root, base: mkfs_root, mount_point: /}
- fstab: {name: fstab_mount_mkfs_root, base: mount_mkfs_root, fsck-passno: 1}
"""


def test_graph_form_is_the_same_config_as_the_tree_form() -> None:
    assert load(GRAPH_YAML) == load(TALK_YAML) == load(DEFAULT_YAML)


def test_root_defaults_follow_dib_for_xfs_and_a_given_label() -> None:
    assert load(DEFAULT_YAML, defaults=RootDefaults("xfs")).root.label == "img-rootfs"
    custom = load(DEFAULT_YAML, defaults=RootDefaults("ext4", "-i 4096", "myroot"))
    assert (custom.root.label, custom.root.opts) == ("myroot", ("-i", "4096"))


def test_saved_json_loads_back_to_the_same_config() -> None:
    for text in (DEFAULT_YAML, GPT_YAML, LVM_YAML):
        config = load(text)
        assert BlockConfig.from_json(config.to_json()) == config


def test_file_system_uuids_are_stable_and_distinct() -> None:
    first, second = load(LVM_YAML), load(LVM_YAML)
    assert first.root.uuid == second.root.uuid != first.fs_at("/var").uuid
    assert load(GPT_YAML).root.uuid != load(DEFAULT_YAML).root.uuid


def test_read_source_takes_inline_yaml_or_a_file_url(tmp_path: Path) -> None:
    (tmp_path / "bd.yaml").write_text(GPT_YAML)
    assert read_source(f"file://{tmp_path}/bd.yaml") == (GPT_YAML, f"{tmp_path}/bd.yaml")
    assert read_source(TALK_YAML)[0] == TALK_YAML
    with pytest.raises(ConfigError, match="cannot read"):
        read_source(f"file://{tmp_path}/missing.yaml")


def test_sizes_accept_dib_units_and_percentages() -> None:
    assert parse_size("1.5GiB").bytes == 3 * 2**29
    assert parse_size("200MB").bytes == 200 * 10**6
    assert parse_size(4096).bytes == 4096
    assert parse_size("50%").percent == 50
    assert parse_lvm_size("2G") == 2 * 2**30 and parse_lvm_size("512") == 512 * MIB
