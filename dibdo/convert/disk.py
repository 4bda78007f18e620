"""Converting the raw disk image to the formats hypervisors and clouds take.

Every conversion is `qemu-img convert` (or a sparse copy for raw), written beside the
destination and renamed into place, so a failure leaves no partial output.
- qcow2: uncompressed by default (fast); `compress=True` adds `-c`.
- vmdk: monolithic sparse; `options={"subformat": "streamOptimized"}` for VMware/ESXi.
- vhd: fixed size with the exact virtual size (`force_size`), rounded up to a whole MiB as
  Azure requires; the raw disk is padded in a temp copy when it is not a MiB multiple.
- vhdx: dynamic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dibdo.convert._staging import scratch_dir, staged
from dibdo.convert.formats import Format
from dibdo.errors import ConfigError
from dibdo.run import run

MIB = 1 << 20

_QEMU_FORMAT = {Format.QCOW2: "qcow2", Format.VMDK: "vmdk", Format.VHD: "vpc", Format.VHDX: "vhdx"}
_DEFAULT_OPTIONS: dict[Format, dict[str, str]] = {
    Format.VHD: {"subformat": "fixed", "force_size": "on"},
}
# Two coroutines for 2-core builders; out-of-order writes (-W) except where the output is a
# stream that must be written in order.
_PARALLEL = ("-m", "2")


def convert_disk(
    raw: Path,
    fmt: Format,
    dest: Path,
    *,
    compress: bool = False,
    options: Mapping[str, str] | None = None,
) -> None:
    """Write the raw disk image `raw` as `fmt` to `dest`."""
    opts = dict(options or {})
    _check(fmt, compress=compress, options=opts)
    with staged(dest) as part:
        if fmt is Format.RAW:
            sparse_copy(raw, part)
        elif fmt is Format.VHD:
            _convert_vhd(raw, part, opts)
        else:
            run(qemu_img_argv(raw, fmt, part, compress=compress, options=opts))


def _check(fmt: Format, *, compress: bool, options: Mapping[str, str]) -> None:
    if not fmt.needs_disk:
        raise ConfigError(f"{fmt.value} is not converted from a disk image")
    if compress and fmt is not Format.QCOW2:
        raise ConfigError(f"compression is only supported for qcow2, not {fmt.value}")
    if options and fmt is Format.RAW:
        raise ConfigError("the raw format takes no options")


def qemu_img_argv(
    raw: Path, fmt: Format, dest: Path, *, compress: bool, options: Mapping[str, str]
) -> list[str]:
    """The `qemu-img convert` command line for one conversion."""
    opts = {**_DEFAULT_OPTIONS.get(fmt, {}), **options}
    argv = ["qemu-img", "convert", "-f", "raw", "-O", _QEMU_FORMAT[fmt], *_PARALLEL]
    if opts.get("subformat") != "streamOptimized":
        argv.append("-W")
    if compress:
        argv.append("-c")
    if opts:
        argv += ["-o", ",".join(f"{k}={_escape(v)}" for k, v in opts.items())]
    return [*argv, os.fspath(raw), os.fspath(dest)]


def _escape(value: str) -> str:
    # qemu's option syntax: a literal comma inside a value is written twice.
    return value.replace(",", ",,")


def sparse_copy(src: Path, dest: Path) -> None:
    """Copy a disk image keeping its holes (and sharing extents where the fs can)."""
    run(["cp", "--sparse=always", "--reflink=auto", os.fspath(src), os.fspath(dest)])


def _convert_vhd(raw: Path, dest: Path, options: Mapping[str, str]) -> None:
    size = raw.stat().st_size
    if size % MIB == 0:
        run(qemu_img_argv(raw, Format.VHD, dest, compress=False, options=options))
        return
    with scratch_dir(dest) as tmp:
        padded = tmp / "padded.raw"
        sparse_copy(raw, padded)
        os.truncate(padded, -(-size // MIB) * MIB)
        run(qemu_img_argv(padded, Format.VHD, dest, compress=False, options=options))
