"""Hook scripts: every element's scripts for a phase, merged in the order DIB runs them.

DIB copies the phase directories of all elements into one hooks directory (a file name
found in two elements is an error) and runs it with `dib-run-parts`, which takes the
executable regular files (symlinks followed) whose names match `^[A-Za-z0-9_-]+$` and
sorts them with `LANG=C sort -n`: by the leading number, then byte by byte. So `9-b` runs
before `10-a`, a name with a dot (`50-x.sh`) never runs, and neither does a file without
an execute bit. `environment.d` files are sourced before every phase in plain byte order
of their names (dots allowed, no execute bit needed). Nothing here holds a resource.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dibdo.elements.discover import Element
from dibdo.errors import ConfigError

PHASES = (
    "root.d",
    "extra-data.d",
    "pre-install.d",
    "install.d",
    "post-install.d",
    "post-root.d",
    "block-device.d",
    "pre-finalise.d",
    "finalise.d",
    "cleanup.d",
)
ENVIRONMENT = "environment.d"

_SCRIPT_NAME = re.compile(r"[A-Za-z0-9_-]+")
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_LEADING_NUMBER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Hook:
    """One hook script: `<element>/<phase>/<name>`."""

    phase: str
    name: str
    element: Element

    @property
    def path(self) -> Path:
        """Where the script is on the host."""
        return self.element.path / self.phase / self.name


def run_parts_key(name: str) -> tuple[int, bytes]:
    """The sort key of `LANG=C sort -n`: the leading (maybe negative) number, then bytes."""
    match = _LEADING_NUMBER.match(name)
    return (int(match.group()) if match else 0, name.encode())


def _regular_files(directory: Path) -> list[str]:
    """Names of the regular files in `directory` (symlinks followed), none if it is absent."""
    if not directory.is_dir():
        return []
    return [p.name for p in directory.iterdir() if p.is_file()]


def _is_executable(path: Path) -> bool:
    # Hooks run as root, for whom access(X_OK) holds when any execute bit is set.
    return bool(path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))


def _merge(elements: Sequence[Element], directory: str) -> dict[str, Element]:
    """File name -> the element holding it in `directory`; a name in two elements is an error."""
    owner: dict[str, Element] = {}
    for element in elements:
        for name in sorted(_regular_files(element.path / directory)):
            if name in owner:
                raise ConfigError(
                    f"{directory}/{name} is in both element {owner[name].name!r} "
                    f"and element {element.name!r}",
                    hint=f"rename one of them: DIB merges every element's {directory} into one",
                )
            owner[name] = element
    return owner


def merged_hooks(elements: Sequence[Element], phase: str) -> tuple[Hook, ...]:
    """Every element's scripts for `phase`, in the order dib-run-parts runs them."""
    if phase not in PHASES:
        raise ValueError(f"not a DIB phase: {phase!r}")
    hooks = [
        Hook(phase, name, element)
        for name, element in _merge(elements, phase).items()
        if _SCRIPT_NAME.fullmatch(name) and _is_executable(element.path / phase / name)
    ]
    return tuple(sorted(hooks, key=lambda h: run_parts_key(h.name)))


def hook_runs(hooks: Sequence[Hook]) -> tuple[tuple[Hook, ...], ...]:
    """`hooks` cut into runs of consecutive scripts of one element (one build step each)."""
    runs: list[list[Hook]] = []
    for hook in hooks:
        if runs and runs[-1][-1].element == hook.element:
            runs[-1].append(hook)
        else:
            runs.append([hook])
    return tuple(tuple(run) for run in runs)


def environment_files(elements: Sequence[Element]) -> tuple[Path, ...]:
    """Every element's `environment.d` files, in the order they are sourced."""
    owner = _merge(elements, ENVIRONMENT)
    names = sorted((n for n in owner if _ENVIRONMENT_NAME.fullmatch(n)), key=os.fsencode)
    return tuple(owner[n].path / ENVIRONMENT / n for n in names)
