"""`Build`: everything one image build needs, handed to every step (no globals).

A Build is made by `open_build()` (see `tasks.session`), which owns its resources: the
workspace directory with the assembled hooks, the journal, the proxy. Steps receive the
Build; they never read the environment themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dibdo.config import Config
from dibdo.elements.expand import ElementSet
from dibdo.elements.packages import PhasePackages
from dibdo.journal import Journal
from dibdo.keys import StatMemo
from dibdo.store import Store
from dibdo.store.remote import RemoteCache
from dibdo.tasks.report import Report


@dataclass(frozen=True)
class ImageSpec:
    """What to build: a named image from images.yaml, or the command line's."""

    name: str
    elements: tuple[str, ...]
    formats: tuple[str, ...]
    output: Path
    packages: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    no_base: bool = False
    boot_test: bool = False
    report: Path | None = None


@dataclass(frozen=True)
class Build:
    """The context of one image build."""

    config: Config
    spec: ImageSpec
    store: Store
    elements: ElementSet
    hooks_dir: Path
    workspace: Path
    journal: Journal
    memo: StatMemo
    packages: Mapping[str, PhasePackages]
    index_state: str
    report: Report
    blockdev_json: dict[str, Any] = field(default_factory=dict)
    proxy_url: str | None = None
    remote: RemoteCache | None = None

    @property
    def distro(self) -> str:
        return "debian"
