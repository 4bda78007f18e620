"""doit task dicts for plan steps: the up-to-date check (the store decides) and the action
(fetch from the remote cache, else build; then upload).

A step is up to date when its key is in the local store, or when it is not needed: a
later result in its chain is available (locally or remotely), so a fresh runner whose
remote holds the final disk downloads no layer at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from doit.exceptions import TaskFailed

from dibdo import log
from dibdo.errors import DibdoError
from dibdo.store import Staging
from dibdo.tasks import disk, explain, layers, outputs, remote
from dibdo.tasks.build import Build
from dibdo.tasks.plan import Kind, Plan, Step
from dibdo.tasks.report import TaskRecord

Runner = Callable[[Build, Step, Staging], None]
_RUNNERS: dict[Kind, Runner] = {
    Kind.BOOTSTRAP: layers.bootstrap,
    Kind.STEP: layers.hook_step,
    Kind.FINISH: layers.finish,
    Kind.DISK: disk.make_disk,
    Kind.CONVERT: outputs.convert,
}


LAYER_KINDS = (Kind.BOOTSTRAP, Kind.STEP, Kind.FINISH)


def task_name(build: Build, step: Step) -> str:
    return f"{step.kind.value}:{build.spec.name}/{step.name}"


class Needs:
    """Which steps this build needs, worked out backwards from the outputs once."""

    def __init__(self, build: Build, plan: Plan) -> None:
        self.build = build
        self.plan = plan
        self._available: dict[str, bool] = {}

    def available(self, step: Step) -> bool:
        key = step.key.digest
        if key not in self._available:
            self._available[key] = self.build.store.has(key) or remote.has(self.build, key)
        return self._available[key]

    def needed(self, step: Step) -> bool:
        from dibdo.convert import Format

        missing = [c for c in self.plan.converts if not self.available(c)]
        if step.kind is Kind.CONVERT:
            return True  # the deliverables: fetched when the remote has them
        wants_tree = any(not Format[c.fmt].needs_disk for c in missing)
        if step.kind is Kind.DISK:
            return any(Format[c.fmt].needs_disk for c in missing)
        return wants_tree or (self.needed(self.plan.disk) and not self.available(self.plan.disk))


class InStore:
    """doit up-to-date check: the key is in the local store, or the step is not needed."""

    def __init__(self, build: Build, needs: Needs, step: Step) -> None:
        self.build, self.needs, self.step = build, needs, step

    def __call__(self) -> bool:
        name = task_name(self.build, self.step)
        if self.build.report.outcome(name):
            return True
        if self.build.store.has(self.step.key.digest):
            self._record("cached")
            explain.remember(self.build, {self.step.name: self.step.key.digest})
            remote.backfill(self.build, self.step)
            return True
        if not self.needs.needed(self.step):
            self._record("skipped")
            return True
        return False

    def _record(self, outcome: str) -> None:
        self.build.report.record(
            TaskRecord(
                task_name(self.build, self.step),
                self.step.kind.value,
                self.step.key.digest,
                outcome,
            )
        )

    def __repr__(self) -> str:
        return f"InStore({self.step.name}: {self.step.key.digest})"


def execute(build: Build, plan: Plan, step: Step) -> TaskFailed | None:
    """The action: fetch the step's result, or build it; record the outcome."""
    try:
        _materialize(build, plan, step)
    except DibdoError as exc:
        name = task_name(build, step)
        build.report.extra["error"] = {"task": name, "message": exc.message, "hint": exc.hint}
        return TaskFailed(f"{exc.message}\n{exc.hint}".strip())
    return None


def _inputs(plan: Plan, step: Step) -> list[Step]:
    """The steps whose results this one reads: its layers, or the disk it converts."""
    from dibdo.convert import Format

    if step.kind is Kind.CONVERT and Format[step.fmt].needs_disk:
        return [plan.disk]
    by_key = {s.key.digest: s for s in plan.layer_steps}
    return [by_key[k] for k in step.layers if k in by_key]


def _materialize(build: Build, plan: Plan, step: Step) -> None:
    """Make `step`'s result local: its inputs first (a step skipped because a later
    result was in the remote cache is needed after all when that fetch fails), then
    fetch it, or build it."""
    if build.store.has(step.key.digest):
        return
    start = time.monotonic()
    why = explain.reasons(build, step)
    if remote.fetch(build, step):
        outcome = "fetched"
    else:
        for parent in _inputs(plan, step):
            _materialize(build, plan, parent)
        start = time.monotonic()
        log.info(f"building {step.describe()}: {'; '.join(why)}")
        kind = "layer" if step.kind in LAYER_KINDS else step.kind.value
        with build.store.stage(step.key.digest, kind) as st:
            st.meta.update({"task": step.name, "inputs": step.key.inputs})
            _RUNNERS[step.kind](build, step, st)
        remote.upload(build, step)
        outcome = "built"
    logfile = build.store.log_path(step.key.digest)
    explain.remember(build, {step.name: step.key.digest})
    seconds = round(time.monotonic() - start, 3)
    log_name = str(logfile) if logfile.exists() else None
    record = TaskRecord(
        task_name(build, step), step.kind.value, step.key.digest, outcome, seconds, log_name, why
    )
    build.report.record(record)


def task(build: Build, plan: Plan, step: Step, needs: Needs) -> dict[str, Any]:
    """The doit task dict of one step."""
    index = plan.all.index(step)
    deps = (
        [task_name(build, plan.all[index - 1])] if index and step.kind is not Kind.CONVERT else []
    )
    if step.kind is Kind.CONVERT:
        deps = [task_name(build, plan.disk)]
    return {
        "basename": step.kind.value,
        "name": f"{build.spec.name}/{step.name}",
        "doc": step.describe(),
        "actions": [(execute, [build, plan, step])],
        "uptodate": [InStore(build, needs, step)],
        "task_dep": deps,
        "verbosity": 2,
    }
