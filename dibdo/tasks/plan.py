"""The plan: every task of an image with its key, computed before anything runs.

Keys chain: bootstrap <- step 1 <- ... <- finish <- disk <- convert. Each key holds the
bytes of the scripts the task runs, the environment it sees and `common`: the digests of
environment.d, bin/ and the other files the hooks directory carries (README, element-deps
and the package lists are consumed on the host and are not in it). The package lists of a
phase enter only the key of that phase's package step. Left out of every key: the proxy
URL, element directory locations, IMAGE_NAME and the output path (two runners building to
different paths share results), and the cache directory. The element list (IMAGE_ELEMENT)
is in the key of a step only when its scripts or an environment.d file read it, so adding
an element does not rebuild the steps before its own.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

from dibdo.convert import parse_format
from dibdo.elements.hooks import PHASES, Hook, environment_files, hook_runs, merged_hooks
from dibdo.keys import Key, compute_key, file_digest, tree_digest
from dibdo.tasks.build import Build
from dibdo.tasks.environ import key_environment

CODE_VERSION = {"bootstrap": 1, "step": 1, "finish": 1, "disk": 1, "convert": 1}
LAYER_PHASES = ("pre-install.d", "install.d", "post-install.d", "post-root.d")
HOST_PHASES = (
    "root.d",
    "extra-data.d",
    "post-root.d",
    "block-device.d",
    "pre-finalise.d",
    "cleanup.d",
)
DISK_PHASES = ("block-device.d", "pre-finalise.d", "finalise.d", "cleanup.d")
PACKAGE_ELEMENT = "package-installs"


class Kind(enum.Enum):
    BOOTSTRAP = "bootstrap"
    STEP = "step"
    FINISH = "finish"
    DISK = "disk"
    CONVERT = "convert"


@dataclass(frozen=True)
class Step:
    """One task of the plan."""

    name: str
    kind: Kind
    key: Key
    phase: str = ""
    hooks: tuple[Hook, ...] = ()
    layers: tuple[str, ...] = ()
    fmt: str = ""

    @property
    def on_host(self) -> bool:
        return self.phase in HOST_PHASES

    def describe(self) -> str:
        if self.hooks:
            names = ", ".join(h.name for h in self.hooks)
            return f"{self.phase} {names} ({self.hooks[0].element.name})"
        return self.name


@dataclass(frozen=True)
class Plan:
    """All tasks of one image, in order."""

    bootstrap: Step
    steps: tuple[Step, ...]
    disk: Step
    converts: tuple[Step, ...]

    @property
    def layer_steps(self) -> tuple[Step, ...]:
        return (self.bootstrap, *self.steps)

    @property
    def all(self) -> tuple[Step, ...]:
        return (*self.layer_steps, self.disk, *self.converts)

    @property
    def layers(self) -> tuple[str, ...]:
        """Layer keys, bottom first."""
        return tuple(s.key.digest for s in self.layer_steps)


def _hook_digests(build: Build, hooks: tuple[Hook, ...]) -> list[Any]:
    rows: list[Any] = [
        [h.element.name, h.phase, h.name, file_digest(h.path, build.memo)] for h in hooks
    ]
    if _reads_element_list(build, hooks):
        rows.append(["IMAGE_ELEMENT", build.elements.names])
    return rows


def _reads_element_list(build: Build, hooks: tuple[Hook, ...]) -> bool:
    """Whether these scripts (or any environment.d file) read IMAGE_ELEMENT: only then does
    adding an element to the build change their key."""
    files = [h.path for h in hooks] + list(environment_files(build.elements.elements))
    return any(b"IMAGE_ELEMENT" in p.read_bytes() for p in files)


def _common(build: Build) -> dict[str, Any]:
    exclude = frozenset(p for p in PHASES) | {"package-installs"}
    return {
        "hooks_dir": tree_digest(build.hooks_dir, build.memo, exclude=exclude),
        "env": key_environment(build),
        "index": build.index_state,
        "arch": build.config.arch,
    }


def _layer_steps(build: Build, parent: Key, common: dict[str, Any]) -> list[Step]:
    steps: list[Step] = []
    layers = [parent.digest]
    for phase in LAYER_PHASES:
        for run in hook_runs(merged_hooks(build.elements.elements, phase)):
            extra: dict[str, Any] = {}
            if run[0].element.name == PACKAGE_ELEMENT and phase in build.packages:
                extra["packages"] = asdict(build.packages[phase])
            key = compute_key(
                "step",
                code_version=CODE_VERSION["step"],
                parent=parent.digest,
                hooks=_hook_digests(build, run),
                common=common,
                **extra,
            )
            name = f"{len(steps) + 1:02d}-{phase[:-2]}-{run[0].name}"
            steps.append(Step(name, Kind.STEP, key, phase, run, tuple(layers)))
            layers.append(key.digest)
            parent = key
    return steps


def make_plan(build: Build) -> Plan:
    """Every task of `build` with its key."""
    common = _common(build)
    root = merged_hooks(build.elements.elements, "root.d")
    boot_key = compute_key(
        "bootstrap",
        code_version=CODE_VERSION["bootstrap"],
        hooks=_hook_digests(build, root),
        common=common,
    )
    bootstrap = Step("bootstrap", Kind.BOOTSTRAP, boot_key, "root.d", root)
    steps = _layer_steps(build, boot_key, common)
    top = steps[-1].key if steps else boot_key
    layers = (boot_key.digest, *(s.key.digest for s in steps))
    finish_key = compute_key(
        "finish", code_version=CODE_VERSION["finish"], parent=top.digest, common=common
    )
    finish = Step("finish", Kind.FINISH, finish_key, layers=layers)
    layers = (*layers, finish_key.digest)
    disk_hooks = tuple(h for p in DISK_PHASES for h in merged_hooks(build.elements.elements, p))
    disk_key = compute_key(
        "disk",
        code_version=CODE_VERSION["disk"],
        parent=finish_key.digest,
        hooks=_hook_digests(build, disk_hooks),
        common=common,
        blockdev=build.blockdev_json,
        size=_size_inputs(build),
    )
    disk = Step("disk", Kind.DISK, disk_key, hooks=disk_hooks, layers=layers)
    converts = tuple(
        _convert(build, fmt, disk_key, finish_key, layers) for fmt in build.spec.formats
    )
    return Plan(bootstrap, (*steps, finish), disk, converts)


def _size_inputs(build: Build) -> dict[str, Any]:
    return {"size": build.config.image_size, "extra": build.config.image_extra_size}


def _convert(build: Build, fmt: str, disk: Key, top: Key, layers: tuple[str, ...]) -> Step:
    """Disk formats convert the raw disk; tree and container formats read the layers."""
    f = parse_format(fmt)
    parent = disk.digest if f.needs_disk else top.digest
    key = compute_key(
        "convert", code_version=CODE_VERSION["convert"], parent=parent, format=f.value, options={}
    )
    return Step(f"convert-{f.suffix}", Kind.CONVERT, key, layers=layers, fmt=f.name)


__all__ = ["Kind", "Plan", "Step", "make_plan"]
