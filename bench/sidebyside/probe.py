"""The small test element both tools build in every scenario (`bench-probe`): one late
install.d script and one finalise.d script, each writing one file. `change()` edits one of
them so that its bytes differ from every earlier run (a counter), which is what a developer
iterating on an element does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NAME = "bench-probe"
_SCRIPT = """#!/bin/bash
# bench/compare's test element: {phase} script, edition {edition}.
set -eu
echo "bench-probe {phase} {edition}" > /etc/bench-probe-{phase}
"""


@dataclass(frozen=True)
class Probe:
    """The element directory inside `elements_path` (which goes on ELEMENTS_PATH)."""

    elements_path: Path

    @property
    def root(self) -> Path:
        return self.elements_path / NAME

    def script(self, phase: str) -> Path:
        folder = "install.d" if phase == "install" else "finalise.d"
        return self.root / folder / "90-bench-probe"

    def write(self, edition: str) -> None:
        """(Re)write the element with both scripts at `edition`."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "README.rst").write_text("bench/compare's test element.\n")
        for phase in ("install", "finalise"):
            self._write(phase, edition)

    def change(self, phase: str, edition: str) -> None:
        self._write(phase, edition)

    def _write(self, phase: str, edition: str) -> None:
        path = self.script(phase)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_SCRIPT.format(phase=phase, edition=edition))
        path.chmod(0o755)
