"""Packing results for the shared cache: trees as tar+zstd, files as zstd.

A layer tree is packed exactly as it lies on disk (owners, modes, xattrs including the
overlay whiteout and opaque markers, hard links, device nodes), so unpacking it gives the
same layer back. Docker/OCI output converts whiteouts itself (dibdo.convert).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dibdo.run import run

_ZSTD = "zstd -T0 -3 -q"
_TAR = [
    "tar",
    "--xattrs",
    "--xattrs-include=*",
    "--acls",
    "--numeric-owner",
    "--sparse",
    "--one-file-system",
]


def pack_tree(tree: Path, dest: Path) -> None:
    """`tree` as a zstd-compressed tar at `dest`."""
    run([*_TAR, "--sort=name", f"--use-compress-program={_ZSTD}", "-C", tree, "-cf", dest, "."])


def unpack_tree(archive: Path, tree: Path) -> None:
    """Unpack a `pack_tree()` archive into the (new, empty) directory `tree`."""
    tree.mkdir(parents=True, exist_ok=True)
    run(
        [
            *_TAR,
            "--same-permissions",
            "--same-owner",
            "--use-compress-program=zstd -d -q",
            "-C",
            tree,
            "-xf",
            archive,
        ]
    )


def pack_file(path: Path, dest: Path) -> None:
    run(["zstd", "-T0", "-3", "-q", "-f", path, "-o", dest])


def unpack_file(archive: Path, dest: Path) -> None:
    run(["zstd", "-d", "-q", "-f", "--sparse", archive, "-o", dest])


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
