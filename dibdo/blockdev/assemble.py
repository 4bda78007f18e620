"""The disk assembled from a block-device configuration, as one context manager.

    device = BlockDevice(config, image, size=n, mount_root=mnt, journal=j, tree=tree)
    with device as disk:                  # image, table, LVM, mkfs, mounts under mnt
        (mnt / "etc/fstab").write_text(disk.fstab_text())
        ...                               # finalise.d in a chroot on mnt, bootloader
    # normal exit: fstrim, staged ESP copied in, unmounted, detached: the image is done
    # exception:   everything released and the image file removed

The split with the caller: given `tree` (and its `usage` from `sizing.measure`, or it is
measured again), the disk is filled while it is made: by `mkfs.ext4 -d TREE` when the
only file system that gets mounted is an ext* root (a staged ESP does not count) and the
tree is small (`fast_fill`), otherwise by `copy_in()` after mounting. Without `tree`
the caller fills `disk.mount_root` itself (or calls `device.copy_in(tree)`). Everything
made is owned by the `with` block and released when it ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from dibdo import log
from dibdo.blockdev import checks
from dibdo.blockdev._lvmspec import LvmSpec
from dibdo.blockdev._partspec import PartitioningSpec
from dibdo.blockdev.config import AnySpec, BlockConfig
from dibdo.blockdev.copy import copy_in
from dibdo.blockdev.disk import Assembled
from dibdo.blockdev.fstab import Fstab
from dibdo.blockdev.graph import Context, Node, Runner
from dibdo.blockdev.host import can_mount
from dibdo.blockdev.localloop import LocalLoop, LocalLoopSpec
from dibdo.blockdev.lvm import Lvm
from dibdo.blockdev.mkfs import EXT, Mkfs, MkfsSpec
from dibdo.blockdev.mount import Mount, MountSpec, mount_order
from dibdo.blockdev.partitioning import Partitioning
from dibdo.blockdev.results import BlockDev, FstabEntry, Mounted
from dibdo.blockdev.schema import Problems
from dibdo.blockdev.sizing import Usage, measure
from dibdo.errors import DeviceError
from dibdo.journal import Journal


def make_node(spec: AnySpec, ctx: Context) -> Node:
    """The run-time node of a spec."""
    if isinstance(spec, LocalLoopSpec):
        return LocalLoop(spec, ctx)
    if isinstance(spec, PartitioningSpec):
        return Partitioning(spec, ctx)
    if isinstance(spec, LvmSpec):
        return Lvm(spec, ctx)
    if isinstance(spec, MkfsSpec):
        return Mkfs(spec, ctx)
    if isinstance(spec, MountSpec):
        return Mount(spec, ctx)
    return Fstab(spec, ctx)


# mkfs.ext4 -d beats mount + copy on small trees (a minimal Debian: 1.7 s against 2.6 s
# here) but slows down on big files and badly on big directories (it scans a directory
# for every entry it adds: /usr/share/man/man1 with 18000 entries took 35 s against 7 s).
FAST_MAX_BYTES = 512 << 20
FAST_MAX_DIR = 2000


def fast_fill(config: BlockConfig, usage: Usage, *, stage_vfat: bool) -> str | None:
    """The mkfs to build straight from the tree (mkfs.ext4 -d), when that is the whole
    job (the root is ext* and no other file system gets mounted over part of it) and the
    tree is one it is fast for."""
    others = [m for m in config.mounts if m.mount_point != "/"]
    staged = all(config.mkfs(m.base).type == "vfat" and stage_vfat for m in others)
    small = usage.bytes <= FAST_MAX_BYTES and usage.largest_dir <= FAST_MAX_DIR
    return config.root.name if config.root.type in EXT and staged and small else None


class BlockDevice:
    """Makes the disk on enter, releases it on exit (see the module docstring)."""

    def __init__(
        self,
        config: BlockConfig,
        image: Path,
        *,
        size: int,
        mount_root: Path,
        journal: Journal | None = None,
        tree: Path | None = None,
        usage: Mapping[str, Usage] | None = None,
        stage_vfat: bool | None = None,
    ) -> None:
        problems = Problems()
        checks.check_fit(config.nodes, size, problems)
        problems.check(config.source)
        self.config = config
        self.tree = tree
        stage = not can_mount("vfat") if stage_vfat is None else stage_vfat
        fast = None
        if tree is not None:
            usage = usage or measure(tree, [m.mount_point for m in config.mounts])
            fast = fast_fill(config, usage.get("/", Usage()), stage_vfat=stage)
        self.ctx = Context(
            image=image,
            size=size,
            mount_root=mount_root,
            journal=journal,
            seed=config.digest(),
            stage_vfat=stage,
            populate={fast: tree} if fast and tree else {},
        )
        nodes = [make_node(spec, self.ctx) for spec in config.nodes]
        self.runner = Runner(nodes, after=mount_order(config.mounts))
        self.assembled: Assembled | None = None

    def __enter__(self) -> Assembled:
        with log.step(f"Making the disk {self.ctx.image.name}"):
            return self._enter()

    def _enter(self) -> Assembled:
        results = self.runner.__enter__()
        try:
            disk = results[self.config.disk.name]
            assert isinstance(disk, BlockDev)
            mounts = tuple(r for r in results.values() if isinstance(r, Mounted))
            fstab = tuple(r for r in results.values() if isinstance(r, FstabEntry))
            self.assembled = Assembled(
                image=self.ctx.image,
                disk=disk.device,
                mount_root=self.ctx.mount_root,
                devices={k: v.device for k, v in results.items() if isinstance(v, BlockDev)},
                mounts=tuple(sorted(mounts, key=lambda m: m.mount_point)),
                fstab=tuple(sorted(fstab, key=lambda e: e.mount_point)),
            )
            if self.tree is not None and not self.ctx.populate:
                copy_in(self.assembled, self.tree)
        except BaseException as exc:
            self.runner.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self.assembled

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.assembled = None
        with log.step(f"Releasing the disk {self.ctx.image.name}"):
            self.runner.__exit__(exc_type, exc, tb)

    def copy_in(self, tree: Path) -> None:
        """Copy `tree` into the mounted file systems (see `copy.copy_in`)."""
        if self.assembled is None:
            raise DeviceError("the disk is not assembled: copy_in() works inside the with block")
        copy_in(self.assembled, tree)
