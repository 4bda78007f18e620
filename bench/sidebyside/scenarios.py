"""The scenarios of issue 8, their goals, and what each tool does in them; the results of a
run (samples per scenario and tool) and the ratios computed from their medians.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from enum import Enum

from sidebyside.measure import Measurement


class Tool(Enum):
    DIB = "DIB"
    DIBDO = "dibdo"


@dataclass(frozen=True)
class Scenario:
    """One row of the table. `baseline` is the DIB scenario the ratio divides by."""

    key: str
    title: str
    goal: float | None
    dib_does: str
    dibdo_does: str
    dib_runs: bool = True
    baseline: str = ""

    @property
    def against(self) -> str:
        return self.baseline or self.key


SCENARIOS = (
    Scenario("cold", "cold: empty caches", 0.4,
             "empty DIB_IMAGE_CACHE (no bootstrap tarball, no apt cache)",
             "empty cache directory, package proxy started on an empty directory"),
    Scenario("warm", "warm: same build again (no-op)", 0.01,
             "same build again: bootstrap tarball and .debs from its cache",
             "same build again"),
    Scenario("install", "one install.d script changed (test element)", 0.07,
             "rebuilds everything (bootstrap from its tarball)",
             "re-runs the changed step and the ones after it"),
    Scenario("finalise", "one finalise.d script changed", 0.07,
             "rebuilds everything (bootstrap from its tarball)",
             "re-runs the disk and convert steps"),
    Scenario("proxy", "layer cache empty, package proxy warm", None,
             "DIB has no layers nor proxy: its own caches warm (tarball, apt .debs)",
             "empty cache directory, the warm package proxy"),
    Scenario("fresh", "fresh runner, shared remote cache warm", 0.10,
             "-", "empty cache directory, remote cache (nginx WebDAV on loopback) read-only, "
             "filled by an earlier runner; the warm package proxy",
             dib_runs=False, baseline="cold"),
)  # fmt: skip


def scenario(key: str) -> Scenario:
    return next(s for s in SCENARIOS if s.key == key)


@dataclass
class Results:
    """Samples of every scenario and tool, in the order they ran."""

    samples: dict[tuple[str, Tool], list[Measurement]] = field(default_factory=dict)

    def add(self, key: str, tool: Tool, m: Measurement) -> None:
        self.samples.setdefault((key, tool), []).append(m)

    def of(self, key: str, tool: Tool) -> list[Measurement]:
        return self.samples.get((key, tool), [])

    def median(self, key: str, tool: Tool) -> float | None:
        runs = [m.seconds for m in self.of(key, tool) if m.ok]
        return round(statistics.median(runs), 2) if runs else None

    def ratio(self, s: Scenario) -> float | None:
        ours, theirs = self.median(s.key, Tool.DIBDO), self.median(s.against, Tool.DIB)
        if ours is None or not theirs:
            return None
        return round(ours / theirs, 4)

    def met(self, s: Scenario) -> bool | None:
        ratio = self.ratio(s)
        if s.goal is None or ratio is None:
            return None
        return ratio <= s.goal
