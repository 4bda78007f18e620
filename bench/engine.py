#!/usr/bin/env python3
"""Benchmark of the build engine (rootfs only, `-t tar`): cold build, no-op rebuild, and
a rebuild after changing the last install.d script, as seconds and as ratios of cold.

Run: .venv/bin/python bench/engine.py [--dir /var/tmp/dibdo-bench-engine]
The cold build starts from an empty layer cache; packages come through a fresh proxy
cache too unless --warm-proxy DIR names one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "#!/bin/bash\nset -eu\necho {} > /etc/bench-hello\n"


def element(root: Path, content: str) -> None:
    script = root / "benchhello/install.d/99-bench-hello"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT.format(content))
    script.chmod(0o755)


def build(work: Path, name: str) -> tuple[float, dict[str, int]]:
    report = work / f"{name}.json"
    cmd = [
        str(ROOT / ".venv/bin/dibdo"),
        "build",
        "--cache-dir",
        str(work / "cache"),
        "--report",
        str(report),
        "-o",
        str(work / "out" / name),
        "-t",
        "tar",
        "debian-minimal",
        "vm",
        "benchhello",
    ]
    env = {**os.environ, "ELEMENTS_PATH": str(work / "el")}
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    outcomes: dict[str, int] = {}
    for task in json.loads(report.read_text())["tasks"]:
        outcomes[task["outcome"]] = outcomes.get(task["outcome"], 0) + 1
    return seconds, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp/dibdo-bench-engine"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    element(args.dir / "el", "v1")
    rows = [("cold build", *build(args.dir, "cold"))]
    rows.append(("no-op rebuild", *build(args.dir, "noop")))
    element(args.dir / "el", "v2")
    rows.append(("last install.d script changed", *build(args.dir, "change")))
    cold = rows[0][1]
    print("| scenario | seconds | of cold | tasks |\n|---|---|---|---|")
    for name, seconds, outcomes in rows:
        tasks = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
        print(f"| {name} | {seconds:.2f} | {seconds / cold:.3f} | {tasks} |")


if __name__ == "__main__":
    main()
