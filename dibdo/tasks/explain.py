"""Why a step is not up to date: its key's inputs against those of the last build.

After every build the key of each task is remembered per image (`CACHE/history/NAME.json`).
`reasons()` compares a task's current inputs with the inputs recorded in the store entry
of the remembered key and says, as sentences, what changed: a script, the parent layer,
a variable, the package list, the package index, dibdo's own code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dibdo.store import write_json
from dibdo.tasks.build import Build
from dibdo.tasks.plan import Step


def _history_path(build: Build) -> Path:
    return build.config.cache_dir / "history" / f"{build.spec.name}.json"


def remembered(build: Build) -> dict[str, str]:
    try:
        data = json.loads(_history_path(build).read_text())
        return {str(k): str(v) for k, v in data.items()}
    except (OSError, ValueError):
        return {}


def remember(build: Build, keys: Mapping[str, str]) -> None:
    path = _history_path(build)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {**remembered(build), **keys})


def reasons(build: Build, step: Step) -> list[str]:
    """What changed since the last build of this image, for one step (empty: nothing)."""
    if build.store.has(step.key.digest):
        return []
    last = remembered(build).get(step.name)
    if last is None or not build.store.has(last):
        return ["it was never built for this image (or its result was evicted)"]
    before = build.store.get(last).meta.get("inputs", {})
    return diff(before, dict(step.key.inputs)) or ["its inputs changed"]


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Sentences for the differences between two key-input records."""
    out: list[str] = []
    if before.get("code") != after.get("code"):
        out.append("dibdo's code for this kind of step changed")
    if before.get("parent") != after.get("parent"):
        out.append("the parent layer changed")
    out += _hooks(before.get("hooks", []), after.get("hooks", []))
    out += _common(before.get("common", {}), after.get("common", {}))
    for field, what in (
        ("packages", "the package list"),
        ("blockdev", "the block-device " "configuration"),
        ("size", "the image size settings"),
        ("format", "the output format"),
        ("options", "the format options"),
    ):
        if before.get(field) != after.get(field):
            out.append(f"{what} changed")
    return out


def _hooks(before: list[Any], after: list[Any]) -> list[str]:
    old = {tuple(h[:3]): h[3:] for h in before}
    new = {tuple(h[:3]): h[3:] for h in after}
    out = []
    for ident in sorted(set(old) | set(new)):
        element, phase, name = ident
        label = f"script {phase}/{name} of element {element}"
        if ident not in old:
            out.append(f"{label} is new")
        elif ident not in new:
            out.append(f"{label} was removed")
        elif old[ident] != new[ident]:
            out.append(f"{label} changed")
    return out


def _common(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    out = []
    env_old, env_new = before.get("env", {}), after.get("env", {})
    for var in sorted(set(env_old) | set(env_new)):
        if env_old.get(var) != env_new.get(var):
            out.append(f"{var} changed ({env_old.get(var)!r} -> {env_new.get(var)!r})")
    if before.get("hooks_dir") != after.get("hooks_dir"):
        out.append("files the elements carry into the chroot (bin/, data) changed")
    if before.get("index") != after.get("index"):
        out.append("the package index state changed (the archive published new indexes)")
    if before.get("arch") != after.get("arch"):
        out.append("ARCH changed")
    return out
