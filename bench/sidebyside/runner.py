"""One repetition of every scenario, interleaved: for each scenario DIB builds, then dibdo, so
that whatever drifts on the machine hits both. Before each build the runner waits until no
other image build runs here; after each, it reaps what the build left (and notes it).

Directories under the bench root: `dib/` (DIB's cache and temp), `dibdo/rN/` (cache
directories, the proxy's and nginx's; removed, like DIB's cache, when the repetition ends),
`out/` (images), `logs/` (every build's log, `/usr/bin/time` output and dibdo report).
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sidebyside.dib import Dib
from sidebyside.dibdo_side import Dibdo, Proxy, package_proxy
from sidebyside.machine import wait_for_quiet
from sidebyside.measure import Measurement
from sidebyside.probe import NAME as PROBE
from sidebyside.probe import Probe
from sidebyside.reap import reap
from sidebyside.scenarios import Results, Tool

ELEMENTS = ("debian-minimal", "vm", PROBE)


@dataclass
class Bench:
    """Everything a repetition needs; `results`, `leaks` and `reports` fill up as it runs."""

    root: Path
    dib: Dib
    dibdo: Dibdo
    probe: Probe
    with_dib: bool = True
    results: Results = field(default_factory=Results)
    leaks: list[str] = field(default_factory=list)
    reports: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def fresh(self, path: Path) -> Path:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


def repetition(bench: Bench, rep: int) -> None:
    """Run every scenario once, in the table's order."""
    work = bench.fresh(bench.root / "dibdo" / f"r{rep}")
    bench.probe.write("base")
    bench.dib.clear_cache()
    with package_proxy(bench.dibdo, work / "proxy", bench.logs / f"r{rep}-proxy.log") as proxy:
        run_pair(bench, rep, "cold", proxy, cache=work / "cache")
        run_pair(bench, rep, "warm", proxy, cache=work / "cache")
        bench.probe.change("install", f"r{rep}-{time.time_ns()}")
        run_pair(bench, rep, "install", proxy, cache=work / "cache")
        bench.probe.change("finalise", f"r{rep}-{time.time_ns()}")
        run_pair(bench, rep, "finalise", proxy, cache=work / "cache")
        run_pair(bench, rep, "proxy", proxy, cache=work / "cache-proxy")
        fresh_runner(bench, rep, proxy, filled_from=work / "cache")
    shutil.rmtree(work)  # caches of several GB each
    bench.dib.clear_cache()


def run_pair(bench: Bench, rep: int, key: str, proxy: Proxy, *, cache: Path) -> None:
    if bench.with_dib:
        dib_build(bench, rep, key)
    dibdo_build(bench, rep, key, proxy, cache=cache)


def dib_build(bench: Bench, rep: int, key: str) -> Measurement:
    name = f"r{rep}-{key}-dib"
    m = guarded(
        bench,
        f"DIB, {key}",
        lambda: bench.dib.build(ELEMENTS, bench.out / name, bench.logs / f"{name}.log"),
    )
    bench.results.add(key, Tool.DIB, m)
    bench.outputs[name] = bench.out / f"{name}.qcow2"
    return m


def dibdo_build(
    bench: Bench,
    rep: int,
    key: str,
    proxy: Proxy,
    *,
    cache: Path,
    remote: str | None = None,
    mode: str = "read",
    record: bool = True,
) -> Measurement:
    name = f"r{rep}-{key}-dibdo"
    report = bench.logs / f"{name}.report.json"
    m = guarded(
        bench,
        f"dibdo, {key}",
        lambda: bench.dibdo.build(
            ELEMENTS,
            bench.out / name,
            cache_dir=cache,
            report=report,
            logfile=bench.logs / f"{name}.log",
            proxy=proxy,
            remote=remote,
            remote_mode=mode,
        ),
    )
    if record:
        bench.results.add(key, Tool.DIBDO, m)
        bench.reports[name] = report
        bench.outputs[name] = bench.out / f"{name}.qcow2"
    return m


def fresh_runner(bench: Bench, rep: int, proxy: Proxy, *, filled_from: Path) -> None:
    """A runner fills the remote cache (not measured), then a new runner with an empty cache
    directory builds the same image from it, read-only."""
    tests = str(bench.dibdo.repo / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    from nginx_fixture import running_nginx  # type: ignore[import-not-found]

    work = bench.root / "dibdo" / f"r{rep}"
    with running_nginx(work / "nginx") as nginx:
        fill = dibdo_build(
            bench,
            rep,
            "fill",
            proxy,
            cache=filled_from,
            remote=nginx.url,
            mode="write",
            record=False,
        )
        print(f"  (remote cache filled in {fill.seconds:.1f} s, not counted)", flush=True)
        dibdo_build(bench, rep, "fresh", proxy, cache=work / "cache-fresh", remote=nginx.url)


def guarded(bench: Bench, what: str, build: Callable[[], Measurement]) -> Measurement:
    """Wait for a quiet machine, run `build`, reap and note what it left behind."""
    waited = wait_for_quiet()
    m: Measurement = build()
    state = "ok" if m.ok else f"FAILED (log: {m.log})"
    extra = f" (waited {waited:.0f} s for another build first)" if waited >= 1 else ""
    print(f"  {what}: {m.seconds:.1f} s, {state}{extra}", flush=True)
    left = reap(bench.root)
    if left:
        print(f"  {what} left behind (cleaned up): {'; '.join(left)}", flush=True)
        bench.leaks += [f"{what}: {item}" for item in left]
    return m
