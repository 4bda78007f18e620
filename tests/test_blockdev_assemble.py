"""Real disks on real loop devices (root): each layout assembled from a small tree, its
table read by sfdisk, its file systems checked by their fsck, nothing left behind."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from blockdev_fixtures import GPT_YAML, LVM_YAML, make_tree, sfdisk_json

from dibdo.blockdev import BlockDevice, disk_size, load, measure, reap
from dibdo.blockdev.config import DEFAULT_YAML, RootDefaults
from dibdo.blockdev.gpt import CODES
from dibdo.blockdev.loop import loop_device
from dibdo.blockdev.results import Filesystem
from dibdo.journal import Journal

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root and loop devices"),
]


@dataclass(frozen=True)
class Work:
    dir: Path
    tree: Path
    mnt: Path
    journal: Path


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Work]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    w = Work(tmp_path, make_tree(tmp_path / "tree"), mnt, tmp_path / "journal.jsonl")
    yield w
    left = reap(w.journal) if w.journal.exists() else []
    assert left == [], f"left behind: {left}"
    assert _leaks(tmp_path) == []


def _leaks(root: Path) -> list[str]:
    with open("/proc/mounts") as fh:
        mounts = [line for line in fh if f" {root}" in line]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    return mounts + [line for line in loops.splitlines() if str(root) in line]


def _device(w: Work, text: str, fstype: str = "ext4", **kwargs: object) -> BlockDevice:
    config = load(text, defaults=RootDefaults(fstype))
    usage = measure(w.tree, [m.mount_point for m in config.mounts])
    size = disk_size(config, usage, extra_size=0.02)
    return BlockDevice(
        config,
        w.dir / "disk.raw",
        size=size,
        mount_root=w.mnt,
        journal=Journal(w.journal),
        tree=w.tree,
        **kwargs,
    )  # type: ignore[arg-type]


def _check(image: Path, fs: Filesystem, argv: list[str]) -> str:
    """Run a checker on `fs` through a loop device of our own at its offset."""
    with loop_device(image, offset=fs.offset, size=fs.size) as dev:
        proc = subprocess.run([*argv, str(dev)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _assert_tree_kept(root: Path) -> None:
    etc = root / "etc"
    assert (etc / "hostname").stat().st_ino == (etc / "hostname.link").stat().st_ino
    assert os.readlink(etc / "hostname.sym") == "hostname"
    assert os.getxattr(etc / "hostname", "user.dibdo") == b"kept"
    assert os.stat(etc / "null").st_rdev == os.makedev(1, 3)
    tool = (root / "usr/bin/tool").stat()
    assert (tool.st_uid, tool.st_gid, tool.st_mode & 0o7777) == (1234, 5678, 0o4755)


def test_mbr_ext4_disk_is_built_from_the_tree_and_passes_fsck(work: Work) -> None:
    with _device(work, DEFAULT_YAML) as disk:
        _assert_tree_kept(disk.mount_root)
        fstab, env, root = disk.fstab_text(), disk.environment(), disk.root.fs
    assert fstab == "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n"
    assert env["IMAGE_BLOCK_DEVICE"].startswith("/dev/loop")
    assert env["DIB_IMAGE_ROOT_FS_UUID"] == root.uuid
    table = sfdisk_json(work.dir / "disk.raw")
    assert table["label"] == "dos"
    assert [(p["type"], p.get("bootable")) for p in table["partitions"]] == [("83", True)]  # type: ignore[attr-defined]
    _check(work.dir / "disk.raw", root, ["fsck.ext4", "-n", "-f"])


@pytest.mark.parametrize("fstype", ["ext2", "ext3", "xfs", "btrfs"])
def test_each_root_file_system_type_is_made_and_filled(work: Work, fstype: str) -> None:
    with _device(work, DEFAULT_YAML, fstype) as disk:
        _assert_tree_kept(disk.mount_root)
        assert disk.fstab_text().split()[:3] == [f"LABEL={disk.root.fs.label}", "/", fstype]
        found = subprocess.run(
            ["findmnt", "-n", "-o", "FSTYPE,UUID", str(disk.mount_root)],
            capture_output=True,
            text=True,
        ).stdout.split()
        assert found == [fstype, disk.root.fs.uuid]


def test_gpt_with_esp_and_bios_boot_fills_the_esp(work: Work) -> None:
    with _device(work, GPT_YAML) as disk:
        assert disk.esp is not None
        (disk.esp.path / "grub.cfg").write_text("set timeout=1\n")
        esp, root, fstab = disk.esp.fs, disk.root.fs, disk.fstab_text()
    image = work.dir / "disk.raw"
    types = [p["type"] for p in sfdisk_json(image)["partitions"]]  # type: ignore[attr-defined]
    assert types == [CODES["EF00"], CODES["EF02"], CODES["8300"]]
    assert fstab.splitlines() == [
        "LABEL=cloudimg-rootfs / ext4 defaults 0 1",
        "LABEL=MKFS_ESP /boot/efi vfat defaults 0 2",
    ]
    _check(image, esp, ["fsck.vfat", "-n"])
    listing = subprocess.run(
        ["mdir", "-i", f"{image}@@{esp.offset}", "-/", "-b", "::/"],
        capture_output=True,
        text=True,
        env={"MTOOLS_SKIP_CHECK": "1"},
    ).stdout
    assert "::/EFI/BOOT/BOOTX64.EFI" in listing and "::/grub.cfg" in listing
    assert "BOOTX64" not in _check(image, root, ["debugfs", "-R", "ls -l /boot/efi"])


def test_lvm_xfs_root_and_ext4_var_get_their_own_files(work: Work) -> None:
    with _device(work, LVM_YAML) as disk:
        _assert_tree_kept(disk.mount_root)
        root, var = disk.root.fs, disk.mounts[1].fs
        assert (var.fstype, disk.mounts[1].mount_point) == ("ext4", "/var")
    image = work.dir / "disk.raw"
    assert len(sfdisk_json(image)["partitions"]) == 1  # type: ignore[arg-type]
    _check(image, root, ["xfs_repair", "-n"])
    _check(image, var, ["fsck.ext4", "-n", "-f"])
    assert _check(image, var, ["debugfs", "-R", "cat /lib/state"]) == "var content\n"


def test_a_bad_mkfs_option_fails_and_leaves_nothing_behind(work: Work) -> None:
    broken = DEFAULT_YAML.replace("mkfs:\n", "mkfs:\n          opts: --no-such-option\n")
    with (
        pytest.raises(Exception, match="cannot make the ext4 file system 'mkfs_root'"),
        _device(work, broken),
    ):
        pass
    assert not (work.dir / "disk.raw").exists()
    assert _leaks(work.dir) == []


def test_a_failing_body_releases_everything_and_removes_the_image(work: Work) -> None:
    with pytest.raises(RuntimeError, match="finalise failed"), _device(work, LVM_YAML):
        raise RuntimeError("finalise failed")
    assert not (work.dir / "disk.raw").exists()
    assert _leaks(work.dir) == []


def test_partitions_fall_back_to_loop_devices_at_their_offsets(
    work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dibdo.blockdev import partitioning
    from dibdo.errors import DeviceError

    def refuse(*args: object, **kwargs: object) -> None:
        raise DeviceError("partx refused")

    monkeypatch.setattr(partitioning, "partition_nodes", refuse)
    with _device(work, GPT_YAML) as disk:
        assert disk.devices["root"].name.startswith("loop")
        assert not disk.devices["root"].name.startswith(f"{disk.disk.name}p")
        root = disk.root.fs
    _check(work.dir / "disk.raw", root, ["fsck.ext4", "-n", "-f"])
