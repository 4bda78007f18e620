"""Sizing the disk up front from the tree: du semantics, fs overhead, DIB's size options."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from blockdev_fixtures import GPT_YAML, LVM_YAML

from dibdo.blockdev.config import DEFAULT_YAML, load
from dibdo.blockdev.layout import device_sizes
from dibdo.blockdev.sizing import Usage, disk_size, fs_need, measure, needs
from dibdo.errors import ConfigError

MIB, GIB = 1 << 20, 1 << 30


def _du(path: Path) -> int:
    out = subprocess.run(
        ["du", "-s", "-x", "--block-size=1", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[0])


def test_measure_matches_du_and_counts_hard_links_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/big").write_bytes(os.urandom(200_000))
    os.link(tmp_path / "d/big", tmp_path / "big.link")
    os.symlink("d/big", tmp_path / "big.sym")
    usage = measure(tmp_path)["/"]
    assert usage.bytes == _du(tmp_path)
    assert usage.inodes == 4  # ., d, d/big (once), big.sym


def test_measure_gives_each_mount_point_its_own_part(tmp_path: Path) -> None:
    (tmp_path / "var/lib").mkdir(parents=True)
    (tmp_path / "var/lib/data").write_bytes(os.urandom(100_000))
    (tmp_path / "etc").mkdir()
    usage = measure(tmp_path, ["/", "/var"])
    assert usage["/var"].bytes == _du(tmp_path / "var")
    assert usage["/"].bytes + usage["/var"].bytes == _du(tmp_path)


def test_ext4_needs_room_for_every_inode_at_its_inode_ratio() -> None:
    root = load(DEFAULT_YAML).root
    assert fs_need(root, Usage(MIB, 100_000)) == 100_000 * 16384
    with_ratio = load(DEFAULT_YAML.replace("mkfs:\n", "mkfs:\n          opts: -i 4096\n")).root
    assert fs_need(with_ratio, Usage(MIB, 100_000)) == 100_000 * 4096


def test_xfs_gets_at_least_its_300_mib_minimum() -> None:
    config = load(LVM_YAML)
    size = disk_size(config, {"/": Usage(), "/var": Usage()})
    assert device_sizes(config.nodes, size)["lv_root"] >= 300 * MIB


def test_default_leaves_dibs_margin_and_extra_size_adds_gib() -> None:
    config, usage = load(DEFAULT_YAML), {"/": Usage(600 * MIB, 1000)}
    default = disk_size(config, usage)
    assert device_sizes(config.nodes, default)["root"] >= 1000 * MIB  # 600 MiB / 0.6
    exact = disk_size(config, usage, extra_size=0)
    assert disk_size(config, usage, extra_size=1) == exact + GIB
    assert exact < default


def test_a_fixed_size_that_is_too_small_names_the_size_needed() -> None:
    with pytest.raises(ConfigError) as err:
        disk_size(load(DEFAULT_YAML), {"/": Usage(3 * GIB, 1000)}, image_size=1)
    needed = "(DIB_IMAGE_SIZE=1, 1 GiB) is too small: the tree needs at least 3.1"
    assert needed in err.value.message
    assert "to 4 or more" in err.value.hint


def test_a_fixed_size_that_fits_is_used_as_is() -> None:
    assert disk_size(load(GPT_YAML), {"/": Usage(MIB, 10)}, image_size=2.5) == 5 * GIB // 2


def test_a_fixed_partition_too_small_for_its_content_is_an_error() -> None:
    with pytest.raises(ConfigError, match="does not fit this block-device layout at any"):
        disk_size(load(GPT_YAML), {"/": Usage(MIB, 10), "/boot/efi": Usage(40 * MIB, 10)})


@pytest.mark.parametrize("text", [DEFAULT_YAML, GPT_YAML, LVM_YAML])
def test_computed_size_is_the_smallest_that_fits(text: str) -> None:
    config = load(text)
    usage = {
        m.mount_point: Usage(MIB if m.mount_point == "/boot/efi" else 50 * MIB, 2000)
        for m in config.mounts
    }
    size = disk_size(config, usage, extra_size=0)
    want = needs(config, usage)
    sizes = device_sizes(config.nodes, size)
    assert all(sizes[dev] >= need for dev, need in want.items())
    smaller = device_sizes(config.nodes, size - MIB)
    assert any(smaller.get(dev, 0) < need for dev, need in want.items())
