"""Text for `dibdo elements`: what an expansion holds and the order its hooks run in."""

from __future__ import annotations

import os
from collections.abc import Sequence

from dibdo.elements.expand import ElementSet
from dibdo.elements.hooks import ENVIRONMENT, PHASES, environment_files, merged_hooks


def _why(es: ElementSet, name: str) -> str:
    """Why `name` is in the set, and what it provides."""
    if name in es.requested:
        reasons = ["requested"]
    elif name in es.added:
        reasons = ["default for vm" if name.startswith("block-device-") else "default"]
    else:
        reasons = [f"dependency of {', '.join(es.wanted_by.get(name, ()))}"]
    provided = [virtual for virtual, provider in es.provides.items() if provider == name]
    if provided:
        reasons.append(f"provides {', '.join(provided)}")
    return "; ".join(reasons)


def _table(rows: Sequence[tuple[str, ...]], indent: str = "") -> list[str]:
    """Rows as left-aligned columns; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        indent + "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def format_expansion(es: ElementSet) -> str:
    """One line per element: its name, why it is in the set, and its directory."""
    rows = [(e.name, _why(es, e.name), os.fspath(e.path)) for e in es.elements]
    return "\n".join(_table([("ELEMENT", "WHY", "DIRECTORY"), *rows])) + "\n"


def format_hooks(es: ElementSet) -> str:
    """Per phase, the merged order its scripts run in, each with its element."""
    lines: list[str] = []
    env_files = environment_files(es.elements)
    if env_files:
        lines.append(f"{ENVIRONMENT} (sourced before every phase):")
        lines += _table([(p.name, p.parent.parent.name) for p in env_files], "  ")
    for phase in PHASES:
        hooks = merged_hooks(es.elements, phase)
        if hooks:
            lines.append(f"{phase}:")
            lines += _table([(h.name, h.element.name) for h in hooks], "  ")
    return "\n".join(lines or ["no hook scripts"]) + "\n"
