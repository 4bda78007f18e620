"""`Assembled`: what the build sees of a made disk, and the values DIB hooks read.

The bootloader installs to `disk` (the whole-disk loop device, with partition nodes
where partx could make them); the ESP, when there is one, is at `esp.path`, a plain
staging directory when `esp.staged` (fill it, e.g. grub-install --efi-directory=...; it
is copied into the ESP when the disk is released).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dibdo.blockdev.results import By, FstabEntry, Mounted


@dataclass(frozen=True)
class Assembled:
    """A made, mounted disk: its image, devices, mounts (in mount order) and fstab."""

    image: Path
    disk: Path
    mount_root: Path
    devices: Mapping[str, Path]
    mounts: tuple[Mounted, ...]
    fstab: tuple[FstabEntry, ...]

    @property
    def root(self) -> Mounted:
        return next(m for m in self.mounts if m.mount_point == "/")

    @property
    def boot(self) -> Mounted:
        """The file system holding /boot: its own, or the root."""
        return next((m for m in self.mounts if m.mount_point == "/boot"), self.root)

    @property
    def esp(self) -> Mounted | None:
        """The EFI system partition's file system: the vfat one at /boot/efi (or any vfat)."""
        vfat = [m for m in self.mounts if m.fs.fstype == "vfat"]
        return next((m for m in vfat if m.mount_point == "/boot/efi"), vfat[0] if vfat else None)

    @property
    def esp_staging(self) -> Path | None:
        """The directory to fill for the ESP when it is staged rather than mounted."""
        esp = self.esp
        return esp.path if esp is not None and esp.staged else None

    def fstab_text(self, *, by: By = "label") -> str:
        """/etc/fstab for the image, file systems named by label (DIB's way) or UUID."""
        return "".join(entry.line(by=by) + "\n" for entry in self.fstab)

    def getval(self) -> dict[str, str]:
        """The symbols of DIB's `dib-block-device getval`."""
        devices = "".join(f" [{name}]={os.fspath(dev)} " for name, dev in self.devices.items())
        return {
            "image-path": os.fspath(self.image),
            "image-block-device": os.fspath(self.disk),
            "image-block-devices": devices,
            "root-label": self.root.fs.label,
            "root-fstype": self.root.fs.fstype,
            "boot-label": self.boot.fs.label,
            "mount-points": "|".join(m.mount_point for m in self.mounts),
        }

    def environment(self) -> dict[str, str]:
        """The variables DIB exports to hooks once the disk exists."""
        val = self.getval()
        return {
            "IMAGE_BLOCK_DEVICE": val["image-block-device"],
            "IMAGE_BLOCK_DEVICES": val["image-block-devices"],
            "TMP_IMAGE_PATH": val["image-path"],
            "DIB_ROOT_LABEL": val["root-label"],
            "DIB_ROOT_FSTYPE": val["root-fstype"],
            "DIB_BOOT_LABEL": val["boot-label"],
            "DIB_IMAGE_ROOT_FS_UUID": self.root.fs.uuid,
        }
