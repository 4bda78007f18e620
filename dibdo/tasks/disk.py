"""The disk task: the final layers -> a partitioned, bootable raw disk.

    validate the block-device config -> measure the merged tree -> size the disk ->
    BlockDevice (partition, LVM, mkfs, mount; the root filled straight from the tree
    where mkfs can) -> fstab -> block-device.d, pre-finalise.d (host) -> finalise.d
    (chroot on the real file systems; the bootloader is one of these) -> cleanup.d (host)
    -> unmount, detach (BlockDevice's exit, also on failure).

Keyed by the final layer, the block-device config and the disk-phase scripts, so
changing only a finalise script re-runs only this task and what follows.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from dibdo import blockdev
from dibdo.blockdev._lvmspec import LvmSpec
from dibdo.blockdev._partspec import PartitioningSpec
from dibdo.rootfs.chroot import chroot_mounts
from dibdo.rootfs.mounts import mounted
from dibdo.run import output
from dibdo.store import Staging
from dibdo.tasks.build import Build
from dibdo.tasks.hooks import run_hook
from dibdo.tasks.outputs import merged_tree
from dibdo.tasks.plan import HOST_PHASES, Step


def block_config(build: Build) -> blockdev.BlockConfig:
    """The validated configuration (all errors at once, each with its node and field)."""
    data = build.blockdev_json.get("config")
    return blockdev.config.parse(data, source="block-device config")


def make_disk(build: Build, step: Step, st: Staging) -> None:
    config = block_config(build)
    log = build.store.log_path(step.key.digest)
    log.write_text("")
    image = st.path / "disk.raw"
    mount_root = build.workspace / "disk-root"
    mount_root.mkdir()
    try:
        with merged_tree(build, step.layers, "disk") as tree:
            usage = blockdev.measure(tree, [m.mount_point for m in config.mounts])
            size = blockdev.disk_size(
                config,
                usage,
                image_size=build.config.image_size,
                extra_size=build.config.image_extra_size or None,
            )
            with blockdev.BlockDevice(
                config, image, size=size, mount_root=mount_root, journal=build.journal, tree=tree
            ) as disk:
                (mount_root / "etc/fstab").write_text(disk.fstab_text(by="uuid"))
                _finalise(build, step, disk, log)
    finally:
        mount_root.rmdir()
    st.meta["layout"] = json.loads(config.to_json())
    st.meta["size"] = size
    finish = build.store.get(step.key.inputs["parent"])
    st.meta["packages"] = finish.meta.get("packages", [])


def _finalise(build: Build, step: Step, disk: blockdev.Assembled, log: Path) -> None:
    env = {**disk.environment(), **_boot_env(build, disk)}
    root = disk.mount_root
    for hook in step.hooks:
        if hook.phase in HOST_PHASES:
            run_hook(build, hook, root, chroot=False, logfile=log, extra_env=env)
            continue
        with _chroot(build, disk):
            run_hook(build, hook, root, chroot=True, logfile=log, extra_env=env)


@contextlib.contextmanager
def _chroot(build: Build, disk: blockdev.Assembled) -> Iterator[None]:
    """The chroot on the real file systems, with a staged ESP bound at its mount point."""
    with contextlib.ExitStack() as stack:
        esp = disk.esp
        if esp is not None and esp.staged:
            target = disk.mount_root / esp.mount_point.lstrip("/")
            target.mkdir(parents=True, exist_ok=True)
            stack.enter_context(mounted(esp.path, target, bind=True, journal=build.journal))
        stack.enter_context(
            chroot_mounts(disk.mount_root, hooks=build.hooks_dir, journal=build.journal)
        )
        yield


def _boot_env(build: Build, disk: blockdev.Assembled) -> dict[str, str]:
    """What our bootloader element reads (see elements/bootloader/finalise.d)."""
    config = block_config(build)
    boot_prefix = "" if disk.boot.mount_point == "/boot" else "/boot"
    env = {
        "DIB_ROOT_FS_UUID": disk.root.fs.uuid,
        "DIB_BOOT_FS_UUID": disk.boot.fs.uuid,
        "DIB_BOOT_PREFIX": boot_prefix,
        "DIB_BIOS_BOOT": "1" if _bios_bootable(config) else "0",
        **_core_area(disk.image),
    }
    lv = _root_lv(config)
    if lv:
        env["DIB_ROOT_DEVICE"] = "/dev/mapper/" + "-".join(p.replace("-", "--") for p in lv)
    if disk.esp is not None:
        env["DIB_EFI_DIR"] = disk.esp.mount_point
    return env


def _core_area(image: Path) -> dict[str, str]:
    """Where GRUB's core.img goes: the gap after the MBR, or the BIOS boot partition."""
    table = json.loads(output(["sfdisk", "-J", image]))["partitiontable"]
    parts = table.get("partitions", [])
    if table["label"] == "dos":
        first = min((p["start"] for p in parts), default=2048)
        return {"DIB_BIOS_CORE_LBA": "1", "DIB_BIOS_CORE_MAX": str(first - 1)}
    bsp = [p for p in parts if p.get("type", "").lower() == _BIOS_BOOT[1]]
    if not bsp:
        return {}
    return {"DIB_BIOS_CORE_LBA": str(bsp[0]["start"]), "DIB_BIOS_CORE_MAX": str(bsp[0]["size"])}


def _root_lv(config: blockdev.BlockConfig) -> tuple[str, str] | None:
    base = config.root.base
    for node in config.nodes:
        if isinstance(node, LvmSpec):
            for lv in node.lvs:
                if lv.name == base:
                    return (lv.base[0], lv.name)
    return None


_BIOS_BOOT = ("ef02", "21686148-6449-6e6f-744e-656564454649")


def _bios_bootable(config: blockdev.BlockConfig) -> bool:
    """BIOS GRUB fits: an MBR disk, or GPT with a BIOS boot partition."""
    for node in config.nodes:
        if isinstance(node, PartitioningSpec):
            if node.label == "mbr":
                return True
            return any(p.type.lower() in _BIOS_BOOT for p in node.partitions)
    return False
