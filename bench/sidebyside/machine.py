"""The machine under the benchmark: what it is (named in every result), the one-build-at-a-
time rule shared with whoever else builds here, and the network counter.

Builds of other people on this machine (the test suite, acceptance checks) use loop devices
and both cores; `wait_for_quiet()` polls until none runs, so no two builds overlap.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from dibdo.run import run

BUILD_PATTERN = "dibdo build|disk-image-create|mmdebstrap|doit image"


@dataclass(frozen=True)
class Machine:
    """Named in the output: `uname -a`, cores and memory."""

    uname: str
    cpus: int
    memory_gib: float

    def describe(self) -> str:
        return f"{self.uname}; {self.cpus} cores, {self.memory_gib:.1f} GiB memory"


def this_machine() -> Machine:
    uname = " ".join(run(["uname", "-a"], capture=True).stdout.split())
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    return Machine(uname, os.cpu_count() or 1, mem_kib / 2**20)


def other_builds() -> list[str]:
    """Command lines of image builds running now (ours included, if any is running)."""
    result = run(["pgrep", "-af", BUILD_PATTERN], capture=True, check=False)
    return [line for line in result.stdout.splitlines() if line.strip()]


def wait_for_quiet(*, poll: float = 20.0, say: bool = True) -> float:
    """Wait until no image build runs on the machine; return the seconds waited."""
    start = time.monotonic()
    told = False
    while busy := other_builds():
        if say and not told:
            print(f"  waiting for another build to finish: {busy[0][:100]}", flush=True)
            told = True
        time.sleep(poll)
    return time.monotonic() - start


def _default_interface() -> str:
    for line in Path("/proc/net/route").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 1 and fields[1] == "00000000":
            return fields[0]
    return "eth0"


def rx_bytes() -> int:
    """Bytes received so far on the interface of the default route (the way upstream)."""
    path = Path("/sys/class/net") / _default_interface() / "statistics" / "rx_bytes"
    return int(path.read_text())
