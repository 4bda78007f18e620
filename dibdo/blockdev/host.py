"""What this host's kernel can do, detected rather than assumed.

Many CI containers have no device-mapper and no vfat: the block-device layer then reaches
partitions with partx or loop devices, LVs with loop devices, and fills an EFI system
partition with mtools instead of mounting it.
"""

from __future__ import annotations

import os
from pathlib import Path


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def has_device_mapper() -> bool:
    """True when the kernel has device-mapper (its control node and misc entry)."""
    return Path("/dev/mapper/control").exists() and " device-mapper" in _read("/proc/misc")


def can_mount(fstype: str) -> bool:
    """True when the kernel knows `fstype`, or has a module for it that mount would load."""
    known = {line.split()[-1] for line in _read("/proc/filesystems").splitlines() if line}
    if fstype in known:
        return True
    modules = Path("/lib/modules") / os.uname().release / "kernel" / "fs"
    return any(modules.glob(f"*/{fstype}.ko*"))
