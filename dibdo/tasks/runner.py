"""Running image tasks with doit as a library (never as a subprocess).

`run_images()` loads the tasks of one or more Builds into doit, runs the requested ones
with a reporter that shows what runs now and what was cached, and ends with a summary.
doit's own state lives in an sqlite3 file in the cache (safe for two builds at once);
whether a task is up to date is decided by the store, not by that file.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain
from doit.reporter import ConsoleReporter

from dibdo.tasks import image_tasks
from dibdo.tasks.build import Build


def doit_config(cache_dir: Path) -> dict[str, Any]:
    return {
        "backend": "sqlite3",
        "dep_file": str(cache_dir / "doit.sqlite"),
        "verbosity": 2,
        "reporter": QuietReporter,
    }


class QuietReporter(ConsoleReporter):  # type: ignore[misc]
    """Progress without doit's failure tracebacks: dibdo prints its own error."""

    def execute_task(self, task: Any) -> None:
        if task.actions and not task.name.startswith("_"):
            self.write(f"> {task.title()}\n")

    def skip_uptodate(self, task: Any) -> None:
        if task.actions:
            self.write(f"- {task.name} (up to date)\n")

    def add_failure(self, task: Any, fail: Any) -> None:
        self.failures.append({"task": task, "exception": fail})

    def complete_run(self) -> None:
        for result in self.failures:
            self.write(f"failed: {result['task'].name}\n")


def loader_for(builds: Sequence[Build]) -> ModuleTaskLoader:
    def task_images() -> Any:
        for build in builds:
            yield from image_tasks(build)

    namespace: dict[str, Any] = {
        "task_images": task_images,
        "DOIT_CONFIG": doit_config(builds[0].config.cache_dir),
    }
    return ModuleTaskLoader(namespace)


def run_images(builds: Sequence[Build], *, targets: Sequence[str] | None = None) -> int:
    """Run the image tasks of `builds`; 0 on success."""
    names = list(targets) if targets else [f"image:{b.spec.name}" for b in builds]
    main = DoitMain(loader_for(builds), extra_config={"GLOBAL": {}})
    sys.stdout.flush()
    return int(main.run(["run", *names]))
