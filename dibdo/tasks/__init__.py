"""The build graph: an image as a chain of doit tasks.

`image_tasks(build)` reads as the pipeline: bootstrap -> one step per hook run, in DIB's
merged order -> finish -> disk -> one convert per format -> image (deliver the outputs).
The bodies live in the modules beside this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dibdo.tasks import actions, outputs
from dibdo.tasks.build import Build
from dibdo.tasks.plan import Plan, Step, make_plan


def image_tasks(build: Build) -> Iterator[dict[str, Any]]:
    """The doit tasks that build one image."""
    plan = make_plan(build)
    needs = actions.Needs(build, plan)
    yield actions.task(build, plan, plan.bootstrap, needs)
    for step in plan.steps:
        yield actions.task(build, plan, step, needs)
    yield actions.task(build, plan, plan.disk, needs)
    for convert in plan.converts:
        yield actions.task(build, plan, convert, needs)
    yield outputs.image_task(build, plan)


__all__ = ["Build", "Plan", "Step", "image_tasks"]
