"""`boot_test`: boot an image in qemu and wait for its login prompt on the serial console.

The image is opened with `-snapshot` (never modified) on a virtio disk, without network or
display, on KVM when `probe_kvm()` says it really works and TCG otherwise. The serial log is
kept at the path the caller gives. qemu never outlives the call: it is stopped when the
patterns appear, when it exits by itself, or at the timeout. With `uefi=True` the firmware
is OVMF (Debian package `ovmf`) on pflash: read-only code and a temp copy of the variables,
removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dibdo import log
from dibdo.boot._qemu import Firmware, log_tail, qemu_argv, watch
from dibdo.boot.kvm import probe_kvm
from dibdo.errors import ConfigError
from dibdo.run import output

ACCELS = ("auto", "kvm", "tcg")
# (code, vars) pairs as Debian's ovmf package installs them; the first one present is used.
OVMF_PAIRS = (
    (Path("/usr/share/OVMF/OVMF_CODE_4M.fd"), Path("/usr/share/OVMF/OVMF_VARS_4M.fd")),
    (Path("/usr/share/OVMF/OVMF_CODE.fd"), Path("/usr/share/OVMF/OVMF_VARS.fd")),
)


@dataclass(frozen=True)
class BootResult:
    """How a boot went. `seconds_to_login` is the time to the last expected pattern;
    `reason` and `tail` (the end of the serial log and qemu's messages) are set on failure."""

    ok: bool
    accel: str
    serial_log: Path
    seconds_to_kernel: float | None
    seconds_to_login: float | None
    reason: str = ""
    tail: str = ""


def boot_test(
    image: Path,
    *,
    serial_log: Path,
    fmt: str | None = None,
    timeout: float = 300,
    expect: Sequence[str] = (r"login:",),
    memory_mb: int = 1024,
    uefi: bool = False,
    accel: str = "auto",
    kvm_cache: Path | None = None,
) -> BootResult:
    """Boot `image` and wait until every pattern of `expect` has appeared, in order."""
    if accel not in ACCELS:
        raise ConfigError(f"unknown accelerator {accel!r}", hint=f"one of: {', '.join(ACCELS)}")
    if not image.is_file():
        raise ConfigError(f"no image at {image}")
    chosen = accel if accel != "auto" else ("kvm" if probe_kvm(cache=kvm_cache) else "tcg")
    with log.step(f"Booting {image.name} ({chosen})"), _firmware(uefi) as firmware:
        argv = qemu_argv(
            image,
            fmt=fmt or image_format(image),
            accel=chosen,
            serial_log=serial_log,
            memory_mb=memory_mb,
            firmware=firmware,
        )
        seen = watch(argv, serial_log=serial_log, expect=expect, timeout=timeout)
    tail = "" if seen.ok else _tail(serial_log, seen.qemu_output)
    return BootResult(
        seen.ok, chosen, serial_log, seen.seconds_to_kernel, seen.seconds_to_match,
        seen.reason, tail,
    )  # fmt: skip


def image_format(image: Path) -> str:
    """The image's format as qemu-img detects it (`-U`: it may be in use elsewhere)."""
    info = json.loads(output(["qemu-img", "info", "-U", "--output=json", image]))
    return str(info["format"])


def _tail(serial_log: Path, qemu_output: str) -> str:
    # Our own SIGTERM at the timeout is not news.
    lines = [line for line in qemu_output.splitlines() if "terminating on signal" not in line]
    messages = "\n".join(f"qemu: {line}" for line in lines[-20:] if line.strip())
    return "\n".join(part for part in (log_tail(serial_log), messages) if part)


@contextlib.contextmanager
def _firmware(uefi: bool) -> Iterator[Firmware | None]:
    if not uefi:
        yield None
        return
    pair = next(((c, v) for c, v in OVMF_PAIRS if c.is_file() and v.is_file()), None)
    if pair is None:
        raise ConfigError("UEFI boot needs OVMF firmware", hint="install the ovmf package")
    with tempfile.TemporaryDirectory(prefix="dibdo-uefi-") as tmp:
        variables = Path(tmp) / pair[1].name
        shutil.copyfile(pair[1], variables)
        yield Firmware(code=pair[0], vars=variables)
