"""The pieces every node type's schema is made of, and the error collector.

Each node type module declares a `NodeType`: its YAML key, a description, the host
commands it runs, a table of `Field`s (each with a description), and a `parse` function
that turns one raw node into a frozen spec. Parsing never stops at the first problem:
every problem is added to `Problems` with the path where it was written
(`block-device[2].mkfs.label`), and the configuration raises one `ConfigError` listing
them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from dibdo.errors import ConfigError


class Role(Enum):
    """What a name stands for, so that a `base` can be checked against what it needs."""

    DISK = "disk image"
    DEVICE = "block device"
    PV = "LVM physical volume"
    VG = "LVM volume group"
    FS = "file system"
    MOUNT = "mount"
    FSTAB = "fstab entry"
    OTHER = "partitioning or lvm node"


@dataclass(frozen=True)
class Field:
    """One option of a node type."""

    key: str
    doc: str
    required: bool = False


@dataclass(frozen=True)
class Need:
    """A name a spec refers to, the roles that name may have, and where it was written."""

    name: str
    roles: frozenset[Role]
    path: str


@dataclass(frozen=True)
class RawNode:
    """One node of the graph form before parsing: its type key, YAML path and values."""

    kind: str
    path: str
    values: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.values.get("name", ""))


class Spec(Protocol):
    """What every node type's parsed, frozen spec offers the graph."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...

    def needs(self) -> tuple[Need, ...]:
        """The names this node reads, with the roles they must have."""
        ...

    def provides(self) -> tuple[tuple[str, Role], ...]:
        """The names this node makes (its own, its partitions, its volumes) and their roles."""
        ...

    def to_yaml(self) -> dict[str, Any]:
        """The canonical graph-form entry, every default filled in."""
        ...


class Problems:
    """Collects configuration errors; `check()` raises them all as one ConfigError."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str, *, node: str = "") -> None:
        suffix = f" (node '{node}')" if node else ""
        self.items.append(f"{path}: {message}{suffix}")

    def check(self, source: str) -> None:
        if not self.items:
            return
        count = len(self.items)
        head = f"{count} error{'s' if count > 1 else ''} in the block-device config"
        head += f" ({source})" if source else ""
        raise ConfigError(
            "\n  ".join([head, *self.items]),
            hint="see the block-device section of DIB's documentation for the node types",
        )


@dataclass(frozen=True)
class NodeType:
    """A node type: YAML key, description, host commands, options, and its parser."""

    key: str
    doc: str
    commands: tuple[str, ...]
    fields: tuple[Field, ...]
    parse: Callable[[RawNode, Problems], Any]
    nested: tuple[str, ...] = field(default=())

    def check_keys(self, raw: RawNode, problems: Problems) -> bool:
        """Report unknown and missing options; True when the node can be parsed further."""
        known = {f.key for f in self.fields}
        ok = True
        for key in raw.values:
            if key not in known:
                problems.add(f"{raw.path}.{key}", f"unknown option for {self.key}", node=raw.name)
                ok = False
        for f in self.fields:
            if f.required and f.key not in raw.values:
                problems.add(f"{raw.path}.{f.key}", "missing", node=raw.name)
                ok = False
        return ok


def text(raw: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    """A string option (YAML numbers are taken as their text)."""
    value = raw.get(key, default)
    return None if value is None else str(value)


def string_list(value: Any) -> tuple[str, ...]:
    """A YAML value that may be one string or a list of strings."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)
