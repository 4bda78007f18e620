"""The build report: one record per task (name, kind, key, outcome, seconds, log).

Outcomes: `built` (ran here), `cached` (in the local store), `fetched` (from the remote
cache), `skipped` (not needed: something later in the chain was available).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TaskRecord:
    name: str
    kind: str
    key: str
    outcome: str
    seconds: float = 0.0
    log: str | None = None
    why: list[str] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)


class Report:
    """Collects task records for one image; thread-safe (doit may run tasks in parallel)."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.started = time.time()
        self.tasks: dict[str, TaskRecord] = {}
        self.outputs: list[str] = []
        self.extra: dict[str, Any] = {}
        self._lock = threading.Lock()

    def record(self, rec: TaskRecord) -> None:
        with self._lock:
            self.tasks[rec.name] = rec

    def outcome(self, name: str) -> str | None:
        rec = self.tasks.get(name)
        return rec.outcome if rec else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "seconds": round(time.time() - self.started, 3),
            "tasks": [asdict(t) for t in self.tasks.values()],
            "outputs": self.outputs,
            **self.extra,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=1))

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for rec in self.tasks.values():
            counts[rec.outcome] = counts.get(rec.outcome, 0) + 1
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        slow = sorted(self.tasks.values(), key=lambda r: -r.seconds)[:5]
        lines = [
            f"{self.image}: {len(self.tasks)} tasks ({parts}) in "
            f"{time.time() - self.started:.1f}s"
        ]
        lines += [f"  {r.seconds:7.1f}s  {r.outcome:8} {r.name}" for r in slow if r.seconds >= 0.1]
        return "\n".join(lines)
