"""The disk size, computed up front from the tree that will be copied in.

1. `measure()` the tree per mount point with `du -x` semantics: allocated blocks
   (st_blocks), hard links counted once, mounted directories inside skipped; each entry
   counts towards the deepest mount point that holds it.
2. Each file system needs room for its content plus its own overhead (`fs_need`): ext*:
   journal (`-J size=` or mke2fs's default for the size), inode tables (`-i`, default
   16384 bytes per inode) and enough inodes; xfs: log, 512-byte inodes, 300 MiB at
   least; vfat: FAT copies; btrfs: duplicated metadata, 128 MiB at least.
3. The free space: DIB_IMAGE_EXTRA_SIZE GiB added to the disk when set; otherwise, as in
   DIB, the content is scaled by 1/0.6.
4. The disk size is the smallest whole MiB at which the configured layout (fixed
   partitions such as the ESP and BIOS-boot, percentages, LVM extents; `layout`) gives
   every file system what it needs. A fixed DIB_IMAGE_SIZE (GiB, like DIB's
   --image-size) or local_loop size is checked instead, and a ConfigError names the
   size needed when it is too small.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dibdo.blockdev.config import BlockConfig
from dibdo.blockdev.layout import device_sizes
from dibdo.blockdev.mkfs import MkfsSpec
from dibdo.blockdev.schema import Problems
from dibdo.blockdev.units import GIB, KIB, MIB, align_up, human
from dibdo.errors import ConfigError

DIB_MARGIN = 0.6  # DIB: without DIB_IMAGE_EXTRA_SIZE, content / 0.6
_LIMIT = 1 << 48
_MINIMUM = {"xfs": 300 * MIB, "btrfs": 128 * MIB}


@dataclass(frozen=True)
class Usage:
    """What a tree (or the part of it under one mount point) takes: bytes, inodes, and the
    entry count of its largest directory (mkfs.ext4 -d slows down on big ones)."""

    bytes: int = 0
    inodes: int = 0
    largest_dir: int = 0

    def scaled(self, factor: float) -> Usage:
        return Usage(int(self.bytes * factor), int(self.inodes * factor), self.largest_dir)


def measure(root: Path, mount_points: Sequence[str] = ("/",)) -> dict[str, Usage]:
    """Usage of `root` per mount point (du -x semantics, hard links once)."""
    points = sorted(mount_points, key=len, reverse=True)
    totals = {p: [0, 0, 0] for p in mount_points}
    seen: set[tuple[int, int]] = set()
    for rel, st, entries in _walk(root, ""):
        if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
        owner = next((p for p in points if _under(rel or "/", p)), None)
        if owner is not None:
            total = totals[owner]
            total[0] += st.st_blocks * 512
            total[1] += 1
            total[2] = max(total[2], entries)
    return {p: Usage(*total) for p, total in totals.items()}


def _under(path: str, mount_point: str) -> bool:
    return mount_point == "/" or path == mount_point or path.startswith(mount_point + "/")


def _walk(root: Path, rel: str) -> Iterator[tuple[str, os.stat_result, int]]:
    """(path in the image, lstat, entry count for directories) of everything under root,
    not descending into directories that are mount points."""
    here = root / rel.lstrip("/") if rel else root
    try:
        entries = list(os.scandir(here))
    except OSError:
        entries = []
    yield rel, os.lstat(here), len(entries)
    for entry in entries:
        child = f"{rel}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            if not os.path.ismount(entry.path):
                yield from _walk(root, child)
        else:
            yield child, entry.stat(follow_symlinks=False), 0


def _option(opts: tuple[str, ...], flag: str, pattern: str) -> str | None:
    """The value of `flag` in mkfs options (`-i 4096`, `-J size=64`), if given."""
    for i, opt in enumerate(opts):
        value = opt[len(flag) :] if opt.startswith(flag) and opt != flag else None
        if opt == flag and i + 1 < len(opts):
            value = opts[i + 1]
        match = re.fullmatch(pattern, value or "")
        if match:
            return match.group(1)
    return None


def _ext_journal(spec: MkfsSpec, size: int) -> int:
    given = _option(spec.opts, "-J", r"size=(\d+)")
    if given is not None:
        return int(given) * MIB
    if spec.type == "ext2":
        return 0
    steps = ((128 * MIB, 4 * MIB), (GIB, 16 * MIB), (2 * GIB, 32 * MIB), (16 * GIB, 64 * MIB))
    return next((j for limit, j in steps if size < limit), 128 * MIB if size < 32 * GIB else GIB)


def fs_need(spec: MkfsSpec, usage: Usage) -> int:
    """The smallest size of `spec`'s file system that holds `usage`, overhead included."""
    content = usage.bytes + MIB
    if spec.type in ("ext2", "ext3", "ext4"):
        ratio = int(_option(spec.opts, "-i", r"(\d+)") or 16384)
        size = content
        for _ in range(3):  # the default journal grows with the size: settle it
            size = int((content + _ext_journal(spec, size) + 4 * MIB) / (1 - 256 / ratio - 0.01))
        return max(size, usage.inodes * ratio)
    if spec.type == "xfs":
        size = int((content + usage.inodes * 512 + 80 * MIB) / 0.99)
    elif spec.type == "btrfs":
        size = int(content * 1.1 + usage.inodes * 600 + 256 * MIB)
    else:
        size = int((content + MIB) / 0.99)
    return max(size, _MINIMUM.get(spec.type, 0))


def needs(config: BlockConfig, usage: Mapping[str, Usage], *, scale: float = 1.0) -> dict[str, int]:
    """Bytes each block device must have for the file system on it (by device name)."""
    out: dict[str, int] = {}
    for mount in config.mounts:
        spec = config.mkfs(mount.base)
        out[spec.base] = fs_need(spec, usage.get(mount.mount_point, Usage()).scaled(scale))
    return out


def _fits(config: BlockConfig, want: Mapping[str, int], size: int) -> list[str]:
    """Why a disk of `size` bytes is not enough (empty when it is)."""
    problems = Problems()
    sizes = device_sizes(config.nodes, size, problems)
    short = [
        f"{name} needs {human(need)}, has {human(sizes.get(name, 0))}"
        for name, need in want.items()
        if sizes.get(name, 0) < need
    ]
    return problems.items + short


def smallest(config: BlockConfig, want: Mapping[str, int]) -> int:
    """The smallest whole-MiB disk size at which every device has what it needs."""
    high = align_up(sum(want.values()) + 64 * MIB, MIB)
    while _fits(config, want, high):
        if high > _LIMIT:
            raise ConfigError(
                "the tree does not fit this block-device layout at any disk "
                "size: " + "; ".join(_fits(config, want, high)),
                hint="a fixed-size partition or volume is too small for its " "file system",
            )
        high *= 2
    low = 0  # in MiB: fits(low) is false or untested, fits(high) true
    high //= MIB
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if not _fits(config, want, mid * MIB) else (mid, high)
    return high * MIB


def disk_size(
    config: BlockConfig,
    usage: Mapping[str, Usage],
    *,
    image_size: float | None = None,
    extra_size: float | None = None,
) -> int:
    """The disk size in bytes for `usage` (per mount point) in `config`'s layout.

    `image_size` (GiB, DIB_IMAGE_SIZE) fixes it; `extra_size` (GiB, DIB_IMAGE_EXTRA_SIZE)
    adds free space; without either the content is scaled as DIB does."""
    fixed = config.disk.size or (align_up(int(image_size * GIB), 64 * KIB) if image_size else None)
    minimum = smallest(config, needs(config, usage))
    if fixed is not None:
        if fixed < minimum or _fits(config, needs(config, usage), fixed):
            what = "local_loop size" if config.disk.size else f"DIB_IMAGE_SIZE={image_size:g}"
            raise ConfigError(
                f"the image size ({what}, {human(fixed)}) is too small: the tree needs at "
                f"least {human(minimum)}",
                hint=f"set DIB_IMAGE_SIZE (--image-size) to {-(-minimum // GIB)} or more, "
                "or leave it unset to have the size computed",
            )
        return fixed
    if extra_size is not None:
        return align_up(minimum + int(extra_size * GIB), MIB)
    return smallest(config, needs(config, usage, scale=1 / DIB_MARGIN))
