"""End to end: the disk task on real loop devices (no device-mapper), every output format,
and a real boot to the login prompt under qemu."""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from conftest import dibdo, leaks

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.network]

GPT_EFI = """
- local_loop: {name: image0}
- partitioning:
    base: image0
    label: gpt
    partitions:
      - {name: ESP, type: 'EF00', size: 200MiB,
         mkfs: {type: vfat, mount: {mount_point: /boot/efi, fstab: {fsck-passno: 2}}}}
      - {name: BSP, type: 'EF02', size: 8MiB}
      - {name: root, type: '8300', size: 100%,
         mkfs: {type: ext4, mount: {mount_point: /, fstab: {fsck-passno: 1}}}}
"""
LVM = """
- local_loop: {name: image0}
- partitioning:
    base: image0
    label: mbr
    partitions: [{name: root, flags: [boot, primary], size: 100%}]
- lvm:
    name: lvm
    base: [root]
    pvs: [{name: pv, base: root}]
    vgs: [{name: vg, base: [pv]}]
    lvs: [{name: lv_root, base: vg, extents: 85%VG}, {name: lv_var, base: vg, extents: 10%VG}]
- mkfs: {name: fs_root, base: lv_root, type: xfs, label: img-rootfs,
         mount: {mount_point: /, fstab: {fsck-passno: 1}}}
- mkfs: {name: fs_var, base: lv_var, type: ext4,
         mount: {mount_point: /var, fstab: {fsck-passno: 2}}}
"""


def run(*argv: str | Path) -> str:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=True).stdout


@contextlib.contextmanager
def partitions(raw: Path) -> Iterator[list[Path]]:
    dev = run("losetup", "--show", "-f", raw).strip()
    try:
        run("partx", "-a", dev)
        yield sorted(Path("/dev").glob(Path(dev).name + "p*"))
    finally:
        subprocess.run(["partx", "-d", dev], capture_output=True)
        run("losetup", "-d", dev)


def read_root_file(raw: Path, path: str) -> str:
    with partitions(raw) as parts, tempfile.TemporaryDirectory() as mnt:
        for part in parts:
            if subprocess.run(["mount", "-o", "ro", part, mnt]).returncode != 0:
                continue
            try:
                if (Path(mnt) / path).exists():
                    return (Path(mnt) / path).read_text()
            finally:
                run("umount", mnt)
    raise AssertionError(f"{path} not found in {raw}")


def build(
    cache: Path,
    out: Path,
    formats: str,
    *args: str | Path,
    layout: str | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> CompletedProcess[str]:
    """`dibdo build` of debian-minimal vm (plus `args`), with a block-device layout if given."""
    env = dict(env or {})
    if layout is not None:
        (out.parent / "bd.yaml").write_text(layout)
        env["DIB_BLOCK_DEVICE_CONFIG"] = f"file://{out.parent}/bd.yaml"
    return dibdo(
        "build",
        "--cache-dir",
        cache,
        "-o",
        out,
        "-t",
        formats,
        *args,
        "debian-minimal",
        "vm",
        env=env,
        check=check,
    )


def assert_boots(image: Path, *flags: str) -> None:
    boot = dibdo("boot-test", image, "--timeout", "300", *flags)
    assert "login prompt after" in boot.stdout + boot.stderr


def test_default_disk_is_mbr_clean_and_boots(tmp_path: Path, shared_cache: Path) -> None:
    build(shared_cache, tmp_path / "vm", "qcow2,raw", "--checksum")
    table = json.loads(run("sfdisk", "-J", tmp_path / "vm.raw"))["partitiontable"]
    assert table["label"] == "dos" and len(table["partitions"]) == 1
    with partitions(tmp_path / "vm.raw") as parts:
        run("fsck.ext4", "-n", parts[0])
    fstab = read_root_file(tmp_path / "vm.raw", "etc/fstab")
    assert fstab.startswith("UUID=") and " / ext4 " in fstab
    grub = read_root_file(tmp_path / "vm.raw", "boot/grub/grub.cfg")
    assert "root=UUID=" in grub and "/dev/loop" not in grub and "timeout=0" in grub
    assert (tmp_path / "vm.qcow2.sha256").exists()
    assert_boots(tmp_path / "vm.qcow2")
    assert leaks(shared_cache, tmp_path) == []


def test_every_format_is_read_by_its_consumer(tmp_path: Path, shared_cache: Path) -> None:
    build(shared_cache, tmp_path / "img", "qcow2,vmdk,vhd,vhdx,tar,squashfs,docker")
    for fmt, name in (("qcow2", "qcow2"), ("vmdk", "vmdk"), ("vpc", "vhd"), ("vhdx", "vhdx")):
        info = json.loads(
            run("qemu-img", "info", "--output=json", "-f", fmt, tmp_path / f"img.{name}")
        )
        assert info["format"] == fmt
    run("qemu-img", "check", tmp_path / "img.qcow2")
    assert "./etc/os-release" in run("tar", "-tf", tmp_path / "img.tar")
    assert "etc/os-release" in run("unsquashfs", "-l", tmp_path / "img.squashfs")
    inspect = json.loads(run("skopeo", "inspect", f"docker-archive:{tmp_path}/img.docker.tar"))
    assert len(inspect["Layers"]) >= 3


def test_one_more_format_converts_only_that(tmp_path: Path, shared_cache: Path) -> None:
    build(shared_cache, tmp_path / "a", "qcow2")
    report = tmp_path / "r.json"
    build(shared_cache, tmp_path / "a", "qcow2,tgz", "--report", report)
    built = [t["name"] for t in json.loads(report.read_text())["tasks"] if t["outcome"] == "built"]
    assert built == ["convert:a/convert-tgz"]


@pytest.mark.parametrize("layout,label,count", [(GPT_EFI, "gpt", 3), (LVM, "dos", 1)])
def test_dib_layouts_build(
    tmp_path: Path, shared_cache: Path, layout: str, label: str, count: int
) -> None:
    build(shared_cache, tmp_path / "d", "raw", "-p", "lvm2,xfsprogs", layout=layout)
    table = json.loads(run("sfdisk", "-J", tmp_path / "d.raw"))["partitiontable"]
    assert table["label"] == label and len(table["partitions"]) == count
    subprocess.run(["vgchange", "-an", "vg"], capture_output=True)
    assert leaks(shared_cache, tmp_path) == []


def test_failing_finalise_script_leaves_nothing(tmp_path: Path, shared_cache: Path) -> None:
    script = tmp_path / "el/badfinal/finalise.d/60-bad"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/bash\necho about to fail\nexit 7\n")
    script.chmod(0o755)
    el = {"ELEMENTS_PATH": str(tmp_path / "el")}
    proc = build(shared_cache, tmp_path / "bad", "raw", "badfinal", env=el, check=False)
    assert proc.returncode == 1 and "60-bad" in proc.stderr and "Traceback" not in proc.stderr
    assert leaks(shared_cache, tmp_path) == []
    assert run("losetup", "-a").strip() == ""


def test_lvm_image_boots(tmp_path: Path, shared_cache: Path) -> None:
    build(shared_cache, tmp_path / "lvm", "qcow2", "-p", "lvm2,xfsprogs", layout=LVM)
    assert_boots(tmp_path / "lvm.qcow2")


def test_gpt_efi_image_boots_with_uefi_and_bios(tmp_path: Path, shared_cache: Path) -> None:
    build(shared_cache, tmp_path / "gpt", "qcow2", "block-device-efi", layout=GPT_EFI)
    assert_boots(tmp_path / "gpt.qcow2", "--uefi")
    assert_boots(tmp_path / "gpt.qcow2")
