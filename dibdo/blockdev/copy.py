"""Copying a root tree into the mounted file systems of an assembled disk.

One tar pipe from the tree into the mount root: owners (numeric), modes, times, xattrs
(security.capability included), ACLs, hard links, device nodes, symlinks and sparse files
are kept, and since every file system is mounted at its place, /var lands in the /var
file system. A *mounted* vfat file system cannot take owners or xattrs, so its part of
the tree is left out of the pipe and copied on its own without them (a staged vfat
directory is a plain directory and takes the pipe like the rest).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from dibdo.blockdev.disk import Assembled
from dibdo.errors import DeviceError, StepFailed
from dibdo.run import run

_KEEP = ("--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls")


def tar_pipe(tree: Path, target: Path, *, exclude: tuple[str, ...] = ()) -> str:
    """The shell pipeline that copies `tree` onto `target`, everything kept."""
    pack = [
        "tar",
        "--create",
        "--file=-",
        f"--directory={os.fspath(tree)}",
        *_KEEP,
        "--sparse",
        *(f"--exclude=./{e.strip('/')}/*" for e in exclude),
        ".",
    ]
    unpack = [
        "tar",
        "--extract",
        "--file=-",
        f"--directory={os.fspath(target)}",
        *_KEEP,
        "--preserve-permissions",
        "--same-owner",
    ]
    return f"set -o pipefail; {shlex.join(pack)} | {shlex.join(unpack)}"


def copy_in(disk: Assembled, tree: Path) -> None:
    """Copy `tree` into `disk`'s mounted file systems (see the module docstring)."""
    if not tree.is_dir():
        raise DeviceError(f"{tree} is not a directory to copy into the disk")
    vfat = tuple(m.mount_point for m in disk.mounts if m.fs.fstype == "vfat" and not m.staged)
    try:
        run(["bash", "-c", tar_pipe(tree, disk.mount_root, exclude=vfat)])
        for point in vfat:
            source = tree / point.lstrip("/")
            if source.is_dir():
                run(["cp", "-rT", "--no-preserve=all", source, disk.mount_root / point.lstrip("/")])
    except StepFailed as exc:
        raise DeviceError(
            f"cannot copy {tree} into the disk: {exc.message}", hint=exc.hint
        ) from None
