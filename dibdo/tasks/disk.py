"""The disk task: final layers -> a partitioned, bootable raw disk (placeholder)."""

from __future__ import annotations

from dibdo.errors import StepFailed
from dibdo.store import Staging
from dibdo.tasks.build import Build
from dibdo.tasks.plan import Step


def make_disk(build: Build, step: Step, st: Staging) -> None:
    raise StepFailed("the disk task is not wired yet")
