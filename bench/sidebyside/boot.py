"""The boot test of both tools' outputs: `dibdo boot-test IMAGE` (qemu, serial console, until
the login prompt), for DIB's image as for dibdo's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dibdo.run import base_env, run


@dataclass(frozen=True)
class Boot:
    """Did the image reach its login prompt, after how many seconds, with which accelerator."""

    ok: bool
    seconds_to_login: float | None
    accel: str
    log: str

    def cell(self) -> str:
        if not self.ok:
            return "no"
        return f"yes, {self.seconds_to_login:.0f} s" if self.seconds_to_login else "yes"


def boot_test(dibdo: Path, image: Path, *, logdir: Path, timeout: float = 300) -> Boot:
    serial = logdir / f"{image.stem}.serial.log"
    result = run(
        [dibdo, "boot-test", image, "--log", serial, "--timeout", str(timeout)],
        env=base_env(),
        capture=True,
        check=False,
    )
    login = re.search(r"login prompt after ([\d.]+) s", result.stdout)
    accel = re.search(r"accelerator: (\S+)", result.stdout)
    return Boot(
        result.returncode == 0,
        float(login.group(1)) if login else None,
        accel.group(1) if accel else "?",
        str(serial),
    )
