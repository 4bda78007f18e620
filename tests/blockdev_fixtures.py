"""Shared pieces of the block-device tests: DIB-style configurations and a small tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# The talk's example (slide "Block Device Layer (2/2)"): mkfs as its own entry.
TALK_YAML = """\
- local_loop:
    name: image0
- partitioning:
    base: image0
    label: mbr
    partitions:
      - name: root
        flags: [ boot, primary ]
        size: 100%
- mkfs:
    base: root
    mount:
      mount_point: /
      fstab:
        options: "defaults"
        fsck-passno: 1
"""

GPT_YAML = """\
- local_loop:
    name: image0
- partitioning:
    base: image0
    label: gpt
    partitions:
      - name: ESP
        type: 'EF00'
        size: 16MiB
        mkfs:
          type: vfat
          mount:
            mount_point: /boot/efi
            fstab:
              options: "defaults"
              fsck-passno: 2
      - name: BSP
        type: 'EF02'
        size: 8MiB
      - name: root
        type: '8300'
        size: 100%
        mkfs:
          type: ext4
          mount:
            mount_point: /
            fstab:
              options: "defaults"
              fsck-passno: 1
"""

LVM_YAML = """\
- local_loop:
    name: image0
- partitioning:
    base: image0
    label: mbr
    partitions:
      - name: root
        flags: [ boot, primary ]
        size: 100%
- lvm:
    name: lvm
    base: [ root ]
    pvs:
      - name: pv
        base: root
    vgs:
      - name: vg
        base: [ "pv" ]
    lvs:
      - name: lv_root
        base: vg
        extents: 85%VG
      - name: lv_var
        base: vg
        extents: 10%VG
- mkfs:
    name: fs_root
    base: lv_root
    type: xfs
    label: "img-rootfs"
    mount:
      mount_point: /
      fstab:
        options: "defaults"
        fsck-passno: 1
- mkfs:
    name: fs_var
    base: lv_var
    type: ext4
    mount:
      mount_point: /var
      fstab:
        options: "defaults"
        fsck-passno: 2
"""


def make_tree(root: Path) -> Path:
    """A few files that test what a copy must keep: a hard link, a symlink, a device
    node, an xattr, an owner, a setuid mode, content under /var and /boot/efi."""
    for sub in ("etc", "var/lib", "boot/efi/EFI/BOOT", "usr/bin"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "etc/hostname").write_text("dibdo\n")
    os.link(root / "etc/hostname", root / "etc/hostname.link")
    os.symlink("hostname", root / "etc/hostname.sym")
    os.mknod(root / "etc/null", 0o20666, os.makedev(1, 3))
    os.setxattr(root / "etc/hostname", "user.dibdo", b"kept")
    (root / "usr/bin/tool").write_bytes(b"#!/bin/sh\n")
    os.chown(root / "usr/bin/tool", 1234, 5678)
    os.chmod(root / "usr/bin/tool", 0o4755)
    (root / "var/lib/state").write_text("var content\n")
    (root / "boot/efi/EFI/BOOT/BOOTX64.EFI").write_bytes(b"not really efi")
    return root


def sfdisk_json(image: Path) -> dict[str, object]:
    """The partition table of `image` as sfdisk reads it."""
    import json

    out = subprocess.run(["sfdisk", "-J", str(image)], capture_output=True, text=True, check=True)
    table: dict[str, object] = json.loads(out.stdout)["partitiontable"]
    return table
