"""One overlayfs upper directory (a dibdo step layer) as an OCI/docker layer tar.

overlayfs and OCI mark deletions differently; `write_layer` translates:
- a whiteout (a character device 0:0, or a file carrying the `overlay.whiteout` xattr)
  becomes an empty file `.wh.<name>` beside where it was;
- an opaque directory (xattr `overlay.opaque` = `y`) is followed by an empty
  `<dir>/.wh..wh..opq` entry.
The `trusted.overlay.*` / `user.overlay.*` xattrs are dropped; every other xattr is kept
as a `SCHILY.xattr.*` PAX record. Owners are numeric (no user or group names), entries are
sorted by name and header fields come from the files alone, so the same directory always
gives the same bytes and digest. Hard links within the layer stay hard links.

Not supported (raises StepFailed): `redirect_dir` and `metacopy` layers, whose upper
directory holds references into lower layers instead of content; mount overlays with
`redirect_dir=off,metacopy=off` (the kernel default) for layers meant for export.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

from dibdo import log
from dibdo.errors import StepFailed

_OVERLAY_PREFIXES = ("trusted.overlay.", "user.overlay.")
_UNSUPPORTED = ("redirect", "metacopy")
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


@dataclass(frozen=True)
class LayerDigest:
    """The digest (`sha256:<hex>`) and size in bytes of an uncompressed layer tar."""

    digest: str
    size: int


class _HashingWriter:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.out.write(data)


def write_layer(upper: Path, out: BinaryIO) -> LayerDigest:
    """Stream the layer tar of the upper directory `upper` into `out`; return its digest."""
    writer = _HashingWriter(out)
    # Stream mode ("w|") only ever calls write(); typeshed asks for a whole IO[bytes].
    stream = cast(IO[bytes], writer)
    pax = tarfile.PAX_FORMAT
    with tarfile.open(fileobj=stream, mode="w|", format=pax, encoding="utf-8") as tar:
        hard_links: dict[tuple[int, int], str] = {}
        for name, path, st in _walk(upper, ""):
            _add(tar, name, path, st, hard_links)
    return LayerDigest(f"sha256:{writer.sha256.hexdigest()}", writer.size)


def _walk(directory: Path, prefix: str) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Depth-first, sorted: (name in the tar, path, lstat) for everything under `directory`."""
    for name in sorted(os.listdir(directory)):
        path = directory / name
        st = path.lstat()
        yield prefix + name, path, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, f"{prefix}{name}/")


def _add(
    tar: tarfile.TarFile,
    name: str,
    path: Path,
    st: os.stat_result,
    hard_links: dict[tuple[int, int], str],
) -> None:
    xattrs, overlay = _xattrs(path)
    if _is_whiteout(st, overlay):
        parent, _, base = name.rpartition("/")
        tar.addfile(_marker(f"{parent}/" if parent else "", WHITEOUT_PREFIX + base, st))
        return
    info = _header(name, path, st)
    if info is None:
        log.debug(f"layer: skipping socket {path}")
        return
    info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in sorted(xattrs.items())}
    if info.isreg() and st.st_nlink > 1:
        first = hard_links.setdefault((st.st_dev, st.st_ino), name)
        if first != name:
            info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
    if info.isreg():
        with open(path, "rb") as fh:
            tar.addfile(info, fh)
    else:
        tar.addfile(info)
    if info.isdir() and overlay.get("opaque") == "y":
        tar.addfile(_marker(f"{name}/", OPAQUE_MARKER, st))


def _header(name: str, path: Path, st: os.stat_result) -> tarfile.TarInfo | None:
    """The tar header of one entry; None for a socket, which tar cannot hold."""
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    mode = st.st_mode
    if stat.S_ISREG(mode):
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    else:
        return None
    return info


def _marker(directory: str, base: str, st: os.stat_result) -> tarfile.TarInfo:
    """An empty whiteout or opaque-marker file owned like the entry it stands for."""
    info = tarfile.TarInfo(directory + base)
    info.mode, info.uid, info.gid, info.mtime = 0o600, st.st_uid, st.st_gid, int(st.st_mtime)
    info.uname = info.gname = ""
    return info


def _is_whiteout(st: os.stat_result, overlay: dict[str, str]) -> bool:
    """overlayfs' whiteout: a 0:0 character device, or a file marked by xattr (kernel 6.7+)."""
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return True
    return stat.S_ISREG(st.st_mode) and "whiteout" in overlay


def _xattrs(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(xattrs to keep, overlay's own xattrs by short name); values as surrogate-escaped text.

    tarfile writes surrogate-escaped PAX values back as the original bytes.
    """
    kept: dict[str, str] = {}
    overlay: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return kept, overlay
    for key in names:
        value = os.getxattr(path, key, follow_symlinks=False).decode(errors="surrogateescape")
        prefix = next((p for p in _OVERLAY_PREFIXES if key.startswith(p)), None)
        if prefix is None:
            kept[key] = value
        else:
            overlay[key.removeprefix(prefix)] = value
    _refuse_references(path, overlay)
    return kept, overlay


def _refuse_references(path: Path, overlay: dict[str, str]) -> None:
    for feature in _UNSUPPORTED:
        if feature in overlay:
            raise StepFailed(
                f"{path} is an overlayfs {feature} entry, which cannot be exported as a layer",
                hint="mount step overlays with redirect_dir=off,metacopy=off",
            )
