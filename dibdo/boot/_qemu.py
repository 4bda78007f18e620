"""Running qemu against a serial log: the command line, and `watch()` which waits for patterns.

`watch()` starts qemu with `dibdo.run.spawn` (which always stops it), reads the serial log
as it grows and returns as soon as every expected pattern has appeared in order, qemu has
exited, or the timeout has passed. Nothing outlives the call: qemu is terminated (then
killed) and its own stderr, kept in a temp dir, is returned as text.
"""

from __future__ import annotations

import codecs
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from dibdo.run import spawn

QEMU = "qemu-system-x86_64"
KERNEL_STARTED = re.compile(r"Linux version \d")
_ANSI = re.compile(r"\x1b(\[[0-9;=?]*[A-Za-z]|[()][A-Z0-9])")
# A pattern may straddle two reads of the log: rescan this much of what was already seen.
_OVERLAP = 4096
_POLL = 0.1


class _Process(Protocol):
    def poll(self) -> int | None: ...


@dataclass(frozen=True)
class Firmware:
    """UEFI firmware for pflash: read-only code, and a private copy of the variable store."""

    code: Path
    vars: Path


@dataclass(frozen=True)
class Watched:
    """What `watch()` saw: success, when the kernel started and when the last pattern came."""

    ok: bool
    seconds_to_kernel: float | None
    seconds_to_match: float | None
    reason: str
    qemu_output: str


def qemu_argv(
    image: Path,
    *,
    fmt: str,
    accel: str,
    serial_log: Path,
    memory_mb: int,
    firmware: Firmware | None = None,
) -> list[str]:
    """The qemu command line: no devices but a virtio disk (snapshot) and a serial port."""
    argv = [QEMU, "-nodefaults", "-display", "none", "-no-reboot", "-accel", accel]
    if accel == "kvm":
        argv += ["-cpu", "host"]
    argv += ["-m", str(memory_mb), "-smp", "2", "-snapshot", "-nic", "none"]
    if firmware is not None:
        argv += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={_esc(firmware.code)}"]
        argv += ["-drive", f"if=pflash,format=raw,unit=1,file={_esc(firmware.vars)}"]
    argv += ["-drive", f"file={_esc(image)},format={fmt},if=virtio"]
    return [*argv, "-serial", f"file:{os.fspath(serial_log)}"]


def _esc(path: Path) -> str:
    # qemu's option syntax: a literal comma is written twice.
    return os.fspath(path).replace(",", ",,")


def watch(
    argv: Sequence[str], *, serial_log: Path, expect: Sequence[str], timeout: float
) -> Watched:
    """Run qemu until every pattern of `expect` has appeared in order, or fail."""
    serial_log.parent.mkdir(parents=True, exist_ok=True)
    serial_log.write_bytes(b"")
    scanner = _Scanner(expect)
    with tempfile.TemporaryDirectory(prefix="dibdo-qemu-") as tmp:
        stderr = Path(tmp) / "qemu.log"
        with open(serial_log, "rb") as log, spawn(argv, logfile=stderr) as proc:
            reason = _follow(log, proc, scanner, timeout)
        text = stderr.read_text(errors="replace") if stderr.exists() else ""
    return Watched(not reason, scanner.kernel, scanner.matched, reason, text)


def _follow(log: BinaryIO, proc: _Process, scanner: _Scanner, timeout: float) -> str:
    """Feed the log to `scanner` until it has matched (return "") or why it failed."""
    start = time.monotonic()
    while not scanner.feed(log.read(), time.monotonic() - start):
        status = proc.poll()
        if status is not None:
            if scanner.feed(log.read(), time.monotonic() - start):
                return ""
            return f"qemu exited with status {status}"
        if time.monotonic() - start > timeout:
            return f"timed out after {timeout:g} s"
        time.sleep(_POLL)
    return ""


class _Scanner:
    """Matches the patterns, in order, against the serial output as it arrives."""

    def __init__(self, expect: Sequence[str]) -> None:
        self.patterns = [re.compile(p) for p in expect]
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.next = 0  # index of the next pattern to find
        self.end = 0  # where the previous pattern's match ended
        self.kernel: float | None = None
        self.matched: float | None = None

    def feed(self, data: bytes, now: float) -> bool:
        """Add output read at `now` seconds; True once every pattern has been seen."""
        seen = len(self.text)
        self.text += self.decoder.decode(data)
        start = max(seen - _OVERLAP, 0)
        if self.kernel is None and KERNEL_STARTED.search(self.text, start):
            self.kernel = now
        while self.next < len(self.patterns):
            found = self.patterns[self.next].search(self.text, max(start, self.end))
            if found is None:
                return False
            self.end, self.next = found.end(), self.next + 1
        if self.matched is None:
            self.matched = now
        return True


def log_tail(serial_log: Path, *, lines: int = 30) -> str:
    """The last lines of a serial log, without terminal escape sequences."""
    try:
        text = serial_log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(_ANSI.sub("", text).replace("\r", "").splitlines()[-lines:])
