"""Archiving a root filesystem tree: `tar_tree` (tar or tar.gz) and `squashfs`.

Both keep what a root filesystem needs (owners as numbers, modes, xattrs and ACLs, hard
links, device nodes), stay on the tree's own file system (never descending into a `/proc`
left mounted inside), and write in a stable order so the same tree gives the same bytes.
Outputs are written beside `dest` and renamed into place.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dibdo.convert._staging import staged
from dibdo.run import base_env, output, run

# No atime/ctime and no PID in extended header names: the same tree gives the same tar.
_PAX_OPTIONS = "exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime"


def tar_tree(root: Path, dest: Path, *, compress: bool) -> None:
    """Write the tree at `root` as a tar (gzip-compressed when `compress`) to `dest`."""
    with staged(dest) as part:
        run(tar_argv(root, part, compress=compress))


def tar_argv(root: Path, dest: Path, *, compress: bool) -> list[str]:
    """The GNU tar command line archiving `root` as `./...` entries."""
    argv = [
        "tar", "--create", "--file", os.fspath(dest), "--directory", os.fspath(root),
        "--format=posix", f"--pax-option={_PAX_OPTIONS}",
        "--xattrs", "--xattrs-include=*", "--xattrs-exclude=trusted.overlay.*", "--acls",
        "--numeric-owner", "--sort=name", "--one-file-system",
    ]  # fmt: skip
    if compress:
        argv.append(f"--use-compress-program={gzip_command()}")
    return [*argv, "."]


def gzip_command() -> str:
    """pigz on two threads when installed, else gzip; `-n` keeps names and times out."""
    if shutil.which("pigz", path=base_env()["PATH"]):
        return "pigz -n -p 2"
    return "gzip -n"


def squashfs(root: Path, dest: Path) -> None:
    """Write the tree at `root` as a squashfs image to `dest` (zstd, else xz)."""
    with staged(dest) as part:
        run([
            "mksquashfs", os.fspath(root), os.fspath(part), "-noappend", "-no-progress",
            "-xattrs", "-comp", squashfs_compressor(), "-processors", "2",
            "-one-file-system",
        ])  # fmt: skip


def squashfs_compressor() -> str:
    """zstd when this mksquashfs was built with it, else xz (every build has xz)."""
    return "zstd" if "zstd" in output(["mksquashfs", "-help"]) else "xz"
