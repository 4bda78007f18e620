"""How a disk is filled: straight from the tree (mkfs.ext4 -d) or by a copy that keeps
everything (no root needed for these)."""

from __future__ import annotations

from pathlib import Path

from blockdev_fixtures import GPT_YAML, LVM_YAML

from dibdo.blockdev.assemble import FAST_MAX_DIR, fast_fill
from dibdo.blockdev.config import DEFAULT_YAML, RootDefaults, load
from dibdo.blockdev.copy import tar_pipe
from dibdo.blockdev.sizing import Usage

SMALL = Usage(300 << 20, 10_000, 600)


def test_a_small_ext4_root_is_built_straight_from_the_tree() -> None:
    assert fast_fill(load(DEFAULT_YAML), SMALL, stage_vfat=False) == "mkfs_root"


def test_a_staged_esp_does_not_prevent_the_fast_path() -> None:
    assert fast_fill(load(GPT_YAML), SMALL, stage_vfat=True) == "mkfs_root"
    assert fast_fill(load(GPT_YAML), SMALL, stage_vfat=False) is None


def test_other_file_systems_or_types_are_filled_by_copy() -> None:
    assert fast_fill(load(LVM_YAML), SMALL, stage_vfat=True) is None
    assert (
        fast_fill(load(DEFAULT_YAML, defaults=RootDefaults("xfs")), SMALL, stage_vfat=True) is None
    )


def test_big_trees_and_big_directories_are_filled_by_copy() -> None:
    crowded = Usage(SMALL.bytes, SMALL.inodes, FAST_MAX_DIR + 1)
    assert fast_fill(load(DEFAULT_YAML), crowded, stage_vfat=False) is None
    assert fast_fill(load(DEFAULT_YAML), Usage(4 << 30, 10_000, 600), stage_vfat=False) is None


def test_the_copy_keeps_owners_xattrs_and_acls_and_skips_mounted_vfat() -> None:
    pipe = tar_pipe(Path("/t"), Path("/m"), exclude=("/boot/efi",))
    pack, unpack = pipe.removeprefix("set -o pipefail; ").split(" | ")
    for keep in ("--numeric-owner", "--xattrs", "'--xattrs-include=*'", "--acls"):
        assert keep in pack.split() and keep in unpack.split()
    assert "'--exclude=./boot/efi/*'" in pack and "--same-owner" in unpack
