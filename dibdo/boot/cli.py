"""`boot_test_main`: what `dibdo boot-test IMAGE` prints and returns."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from dibdo.boot.check import BootResult, boot_test


def boot_test_main(
    image: Path,
    *,
    timeout: float,
    expect: Sequence[str],
    log: Path | None,
    uefi: bool = False,
    accel: str = "auto",
) -> int:
    """Boot `image`, print the seconds to kernel and to login and the log path; 0 if it
    reached every expected pattern, else 1 with the end of the serial log."""
    serial_log = log or image.with_name(f"{image.name}.serial.log")
    result = boot_test(
        image, serial_log=serial_log, timeout=timeout, expect=expect or (r"login:",),
        uefi=uefi, accel=accel,
    )  # fmt: skip
    print(report(result))
    if not result.ok:
        print(f"boot test failed: {result.reason}\n{result.tail}", file=sys.stderr)
        return 1
    return 0


def report(result: BootResult) -> str:
    """A few lines for people: times to kernel and login, accelerator, serial log."""
    kernel, login = result.seconds_to_kernel, result.seconds_to_login
    lines = [
        f"kernel started after {kernel:.1f} s" if kernel is not None else "kernel start not seen",
        f"login prompt after {login:.1f} s" if login is not None else "login prompt not reached",
        f"accelerator: {result.accel}",
        f"serial log: {result.serial_log}",
    ]
    return "\n".join(lines)
