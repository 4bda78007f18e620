#!/usr/bin/env python3
"""dibdo side by side with diskimage-builder (issue 8): both build `debian-minimal vm` (plus a
small test element) as qcow2 on this machine, in one run, scenario by scenario, interleaved.

    bench/compare --quick          # one repetition of each scenario (about 14 minutes here)
    bench/compare --repeat 3       # three, medians reported (the default)

Prints one markdown table (scenario | DIB s | dibdo s | ratio | goal | met | boots), the
downloaded bytes, peak memory and image sizes, and where dibdo's cold build spends its time;
writes them as JSON and as a PNG bar chart into bench/results/ (git-ignored). The machine
(`uname -a`, cores, memory) is named in all three. Both tools' cold outputs are boot-tested.

Set up on first use, under --bench-dir (default /var/tmp/dibdo-bench): DIB (pinned, from
PyPI) in its own virtualenv with its Debian host packages, and matplotlib in another
virtualenv for the chart. What DIB needs on this machine is written in sidebyside/dib.py;
the scenarios in sidebyside/scenarios.py. Needs root (both tools build with loop devices)
and about 15 GB free there while it runs: each repetition's caches are removed at its end,
the images when the run ends (--keep-images keeps them); logs stay in --bench-dir/logs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from sidebyside import chart_env, dib, report  # noqa: E402
from sidebyside.boot import Boot, boot_test  # noqa: E402
from sidebyside.dibdo_side import Dibdo  # noqa: E402
from sidebyside.machine import this_machine  # noqa: E402
from sidebyside.probe import Probe  # noqa: E402
from sidebyside.reap import reap  # noqa: E402
from sidebyside.runner import Bench, repetition  # noqa: E402
from sidebyside.scenarios import Tool  # noqa: E402

from dibdo.run import run  # noqa: E402

NOTES = [
    "DIB: diskimage-builder from PyPI, with its caching on (DIB_DEBOOTSTRAP_CACHE=1, "
    "DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE=1; apt .deb cache on by default), qcow2 compressed "
    "(DIB's default; -u would turn it off). dibdo writes uncompressed qcow2.",
    "DIB on this machine runs with kpartx/dmsetup/sudo stand-ins (bench/dib-shims/): no "
    "device-mapper here; see bench/sidebyside/dib.py.",
    "'layer cache empty, package proxy warm': DIB has neither, so it runs with its own "
    "caches warm (a second warm build). 'fresh runner': dibdo only; its ratio is against "
    "DIB's cold build (a fresh DIB runner has nothing cached).",
    "Downloaded: bytes received by the machine during the build (default route's counter; "
    "includes anything else downloading meanwhile); for dibdo also what its package proxy "
    "fetched from upstream. Peak memory: the largest single process (/usr/bin/time -v).",
]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--repeat", type=int, default=3, help="repetitions of every scenario")
    p.add_argument("--quick", action="store_true", help="one repetition (same as --repeat 1)")
    p.add_argument("--bench-dir", type=Path, default=Path("/var/tmp/dibdo-bench"))
    p.add_argument("--results", type=Path, default=BENCH / "results")
    p.add_argument("--no-boot", action="store_true", help="skip the boot tests")
    p.add_argument("--no-dib", action="store_true", help="dibdo's builds only (no ratios)")
    p.add_argument("--keep-images", action="store_true", help="keep the images (bench-dir/out)")
    args = p.parse_args(argv)
    if args.quick:
        args.repeat = 1
    return args


def dibdo_version() -> str:
    head = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture=True, check=False)
    dirty = run(
        ["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
        capture=True,
        check=False,
    )
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def boots(bench: Bench) -> dict[str, Boot]:
    """Boot-test the first cold output of each tool."""
    found: dict[str, Boot] = {}
    for tool, suffix in ((Tool.DIB, "dib"), (Tool.DIBDO, "dibdo")):
        image = bench.outputs.get(f"r1-cold-{suffix}")
        if image is not None and image.exists():
            print(f"boot test: {image.name}", flush=True)
            found[f"cold:{tool.value}"] = boot_test(bench.dibdo.exe, image, logdir=bench.logs)
    return found


def main(argv: list[str]) -> int:
    args = parse(argv)
    if os.geteuid() != 0:
        print("bench/compare: run as root (both tools use loop devices)", file=sys.stderr)
        return 1
    bench, plot_python = prepare(args.bench_dir, with_dib=not args.no_dib)
    machine = this_machine()
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"bench/compare on {machine.describe()}", flush=True)
    try:
        for rep in range(1, args.repeat + 1):
            print(f"repetition {rep}/{args.repeat}", flush=True)
            repetition(bench, rep)
        found = {} if args.no_boot else boots(bench)
    finally:  # an interrupted DIB run leaves its mounts and loop devices
        for item in reap(bench.root):
            print(f"cleaned up: {item}", file=sys.stderr)
    doc = report.document(
        bench.results,
        header=header(machine.describe(), started, args.repeat),
        boots=found,
        tasks={name: report.breakdown(path) for name, path in bench.reports.items()},
        leaks=bench.leaks,
    )
    write(doc, args.results, plot_python)
    if not args.keep_images:
        shutil.rmtree(bench.out, ignore_errors=True)
    failed = [m for ms in bench.results.samples.values() for m in ms if not m.ok]
    return 1 if failed else 0


def prepare(root: Path, *, with_dib: bool) -> tuple[Bench, Path]:
    """Set up DIB and the chart's virtualenv (first use), empty the logs and images."""
    free = shutil.disk_usage(root if root.exists() else root.parent).free
    if free < 15 * 2**30:
        print(f"warning: {free / 2**30:.0f} GiB free under {root}; a repetition needs ~15 GiB")
    elements = root / "elements"
    environ = dict(os.environ)
    the_dib = dib.setup(root, elements_path=elements, environ=environ)
    plot_python = chart_env.setup(root, environ=environ)
    bench = Bench(root, the_dib, Dibdo(REPO, elements), Probe(elements), with_dib=with_dib)
    for folder in (bench.logs, bench.out):
        bench.fresh(folder)
    return bench, plot_python


def header(machine: str, started: str, repeat: int) -> report.Doc:
    return {
        "machine": machine,
        "started": started,
        "dibdo": dibdo_version(),
        "dib_version": dib.DIB_VERSION,
        "repeat": repeat,
        "image": "debian-minimal vm + a test element (bench-probe), qcow2",
        "notes": NOTES,
    }


def write(doc: report.Doc, results: Path, plot_python: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    text = report.markdown(doc)
    print("\n" + text, flush=True)
    for name in (f"compare-{stamp}", "latest"):
        (results / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
        (results / f"{name}.md").write_text(text)
    png = results / f"compare-{stamp}.png"
    chart = BENCH / "sidebyside" / "chart.py"
    run([plot_python, chart, results / f"compare-{stamp}.json", png], env=chart_env.env())
    shutil.copyfile(png, results / "latest.png")
    print(f"written: {results}/compare-{stamp}.{{md,json,png}} (and latest.*)", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
