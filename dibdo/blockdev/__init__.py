"""The block-device layer: DIB's block-device YAML turned into a partitioned, formatted,
mounted disk image, without device-mapper.

    text, source = read_source(os.environ value or "file://...")   # config.py
    config = load(text, source=source, defaults=RootDefaults("ext4"))
    usage = measure(tree, [m.mount_point for m in config.mounts])    # sizing.py
    size = disk_size(config, usage, image_size=None, extra_size=None)
    with BlockDevice(config, image, size=size, mount_root=mnt, journal=j, tree=tree) as disk:
        ...                                                           # assemble.py
    reap(journal_file)                                                # reap.py

Levels, one module each: localloop (0: the image and its loop device), partitioning and
lvm (1), mkfs (2), mount (3), fstab (4). Each parses its own options into a frozen spec
and makes, at run time, a frozen result its dependents receive (results.py); graph.py
runs them in dependency order and undoes them in reverse. layout.py places partitions
(shared by validation, sizing and the table writers: mbr.py, sgdisk), host.py detects
what the kernel can do.
"""

from dibdo.blockdev._lvmspec import LvmSpec
from dibdo.blockdev._partspec import PartitioningSpec, PartitionSpec
from dibdo.blockdev.assemble import BlockDevice
from dibdo.blockdev.config import (
    DEFAULT_YAML,
    BlockConfig,
    RootDefaults,
    load,
    parse,
    read_source,
    reference,
)
from dibdo.blockdev.copy import copy_in
from dibdo.blockdev.disk import Assembled
from dibdo.blockdev.fstab import FstabSpec
from dibdo.blockdev.localloop import LocalLoopSpec
from dibdo.blockdev.mkfs import MkfsSpec
from dibdo.blockdev.mount import MountSpec
from dibdo.blockdev.reap import reap
from dibdo.blockdev.results import BlockDev, Filesystem, FstabEntry, Mounted
from dibdo.blockdev.sizing import Usage, disk_size, measure

__all__ = [
    "DEFAULT_YAML",
    "Assembled",
    "BlockConfig",
    "BlockDev",
    "BlockDevice",
    "Filesystem",
    "FstabEntry",
    "FstabSpec",
    "LocalLoopSpec",
    "LvmSpec",
    "MkfsSpec",
    "MountSpec",
    "Mounted",
    "PartitionSpec",
    "PartitioningSpec",
    "RootDefaults",
    "Usage",
    "copy_in",
    "disk_size",
    "load",
    "measure",
    "parse",
    "read_source",
    "reap",
    "reference",
]
