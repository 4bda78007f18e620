"""`dibdo doctor`: which host tools are present, missing or too old, and what for."""

from __future__ import annotations

import shutil

from dibdo.run import output

# (command, Debian package, what dibdo needs it for)
TOOLS = (
    ("mmdebstrap", "mmdebstrap", "bootstrapping Debian (debian-minimal root.d)"),
    ("debootstrap", "debootstrap", "its default mirror; bootstrapping where asked"),
    ("mount", "mount", "overlay layers and chroots"),
    ("losetup", "mount", "loop devices for disks"),
    ("partx", "util-linux", "partition nodes without device-mapper"),
    ("sfdisk", "fdisk", "GPT tables and reading tables back"),
    ("mkfs.ext4", "e2fsprogs", "ext2/3/4 file systems"),
    ("mkfs.xfs", "xfsprogs", "xfs file systems"),
    ("mkfs.vfat", "dosfstools", "EFI system partitions"),
    ("mcopy", "mtools", "filling a FAT ESP without mounting it"),
    ("mkfs.btrfs", "btrfs-progs", "btrfs file systems"),
    ("lvm", "lvm2", "LVM layouts"),
    ("qemu-img", "qemu-utils", "qcow2, vmdk, vhd, vhdx outputs"),
    ("qemu-system-x86_64", "qemu-system-x86", "boot tests"),
    ("mksquashfs", "squashfs-tools", "squashfs output"),
    ("zstd", "zstd", "packing layers for the shared cache"),
    ("tar", "tar", "tar output and layer packing"),
    ("skopeo", "skopeo", "checking docker archives (tests)"),
    ("nginx", "nginx-light", "the shared-cache tests' WebDAV server"),
)


def doctor_main() -> int:
    missing = 0
    for command, package, purpose in TOOLS:
        path = shutil.which(
            command, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" "/sbin:/bin"
        )
        state = "ok     " if path else "MISSING"
        missing += path is None
        print(f"{state} {command:20} ({package}): {purpose}")
    kernel = output(["uname", "-r"])
    print(
        f"kernel {kernel}; device-mapper "
        f"{'present' if shutil.which('dmsetup') else 'absent'} (not needed)"
    )
    if missing:
        print(f"{missing} tools missing: run ./dev setup")
    return 1 if missing else 0
