"""Turning DIB's tree form of the block-device YAML into its graph form.

In the tree form a node may nest its dependents under their type key (a partition holds
`mkfs`, which holds `mount`, which holds `fstab`); in the graph form every node is a
top-level entry with a `name` and a `base`. A nested node without a `base` takes its
parent's name as base; a node without a `name` is called `<type>_<base>` (so the `mkfs`
under partition `root` is `mkfs_root`, which the root file-system defaults apply to).
Each node keeps the path where it was written, for error messages.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from dibdo.blockdev.schema import Problems, RawNode, string_list


def flatten(entries: Any, kinds: Collection[str], problems: Problems) -> list[RawNode]:
    """The graph form of `entries` (a YAML list), nodes in the order they are written."""
    if not isinstance(entries, list):
        problems.add("block-device", "the configuration must be a list of nodes")
        return []
    out: list[RawNode] = []
    for index, entry in enumerate(entries):
        path = f"block-device[{index}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            problems.add(path, "each entry must be a mapping with exactly one node type key")
            continue
        ((kind, values),) = entry.items()
        if kind not in kinds:
            known = ", ".join(sorted(kinds))
            problems.add(path, f"unknown node type '{kind}' (known: {known})")
            continue
        _node(kind, values, None, f"{path}.{kind}", kinds, problems, out)
    return out


def _node(
    kind: str,
    values: Any,
    parent: str | None,
    path: str,
    kinds: Collection[str],
    problems: Problems,
    out: list[RawNode],
) -> None:
    if not isinstance(values, dict):
        problems.add(path, f"the options of {kind} must be a mapping")
        return
    this: dict[str, Any] = {}
    if "base" in values:
        this["base"] = values["base"]
    elif parent is not None:
        this["base"] = parent
    if "name" in values:
        this["name"] = str(values["name"])
    elif "base" in this:
        this["name"] = f"{kind}_{'_'.join(string_list(this['base']))}"
    children: list[_Child] = []
    for key, value in values.items():
        if key in ("name", "base"):
            continue
        if key in kinds:
            children.append((key, value, this.get("name"), f"{path}.{key}"))
        elif key == "partitions" and kind == "partitioning" and isinstance(value, list):
            this[key] = _partitions(value, path, kinds, children)
        else:
            this[key] = value
    out.append(RawNode(kind, path, this))
    for child_kind, child_values, owner, child_path in children:
        _node(child_kind, child_values, owner, child_path, kinds, problems, out)


_Child = tuple[str, Any, "str | None", str]


def _partitions(
    value: list[Any], path: str, kinds: Collection[str], children: list[_Child]
) -> list[Any]:
    """The partitions of a partitioning node, their nested nodes moved to `children`.

    Entries that are not mappings are kept as they are, for the parser to report."""
    parts: list[Any] = []
    for index, part in enumerate(value):
        if not isinstance(part, dict):
            parts.append(part)
            continue
        parts.append({k: v for k, v in part.items() if k not in kinds})
        name = str(part["name"]) if "name" in part else None
        for key, nested in part.items():
            if key in kinds:
                children.append((key, nested, name, f"{path}.partitions[{index}].{key}"))
    return parts
