"""One measured command: wall-clock seconds, peak memory (`/usr/bin/time -v`'s "Maximum
resident set size": the largest single process of the tree, not their sum), and the bytes
the machine received from the network meanwhile (the default route's rx counter: it also
counts whatever else downloads at the time).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dibdo.run import Arg, run
from sidebyside.machine import rx_bytes


@dataclass(frozen=True)
class Measurement:
    """One run of one tool in one scenario."""

    seconds: float
    peak_rss_mib: float
    rx_bytes: int
    ok: bool
    log: str
    image_bytes: int = 0
    upstream_bytes: int | None = None  # what the package proxy fetched, when one was used


def measured(
    argv: Sequence[Arg], *, env: Mapping[str, str], logfile: Path, cwd: Path | None = None
) -> Measurement:
    """Run `argv` under `/usr/bin/time -v`; its output goes to `logfile`."""
    timefile = logfile.with_suffix(".time")
    timefile.unlink(missing_ok=True)
    rx0, start = rx_bytes(), time.monotonic()
    result = run(
        ["/usr/bin/time", "-v", "-o", timefile, *argv],
        env=env,
        logfile=logfile,
        cwd=cwd,
        check=False,
    )
    seconds = time.monotonic() - start
    return Measurement(
        round(seconds, 2),
        peak_rss_mib(timefile),
        rx_bytes() - rx0,
        result.returncode == 0,
        os.fspath(logfile),
    )


def peak_rss_mib(timefile: Path) -> float:
    text = timefile.read_text() if timefile.exists() else ""
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return round(int(found.group(1)) / 1024, 1) if found else 0.0


def file_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
