"""Level 4, `fstab`: the /etc/fstab line of a mounted file system.

Options default to `defaults`, dump-freq to 0 and fsck-passno to 2, as in DIB. create:
returns the entry (nothing is made on the host); the build writes the lines with
`Assembled.fstab_text()`. No host commands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dibdo.blockdev.graph import Context, NodeBase
from dibdo.blockdev.results import FstabEntry, Mounted, Result
from dibdo.blockdev.schema import Field, Need, NodeType, Problems, RawNode, Role, text


@dataclass(frozen=True)
class FstabSpec:
    """One fstab entry's options."""

    name: str
    base: str
    options: str = "defaults"
    dump_freq: int = 0
    fsck_passno: int = 2
    path: str = field(default="", compare=False)

    def needs(self) -> tuple[Need, ...]:
        return (Need(self.base, frozenset({Role.MOUNT}), f"{self.path}.base"),)

    def provides(self) -> tuple[tuple[str, Role], ...]:
        return ((self.name, Role.FSTAB),)

    def to_yaml(self) -> dict[str, Any]:
        return {
            "fstab": {
                "name": self.name,
                "base": self.base,
                "options": self.options,
                "dump-freq": self.dump_freq,
                "fsck-passno": self.fsck_passno,
            }
        }


def parse(raw: RawNode, problems: Problems) -> FstabSpec | None:
    if not TYPE.check_keys(raw, problems):
        return None
    numbers = {}
    for key, default in (("dump-freq", 0), ("fsck-passno", 2)):
        value = raw.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.add(
                f"{raw.path}.{key}", f"{value!r} is not a non-negative number", node=raw.name
            )
            value = default
        numbers[key] = value
    options = text(raw.values, "options", "defaults") or "defaults"
    if any(c.isspace() for c in options):
        problems.add(f"{raw.path}.options", f"'{options}' contains white space", node=raw.name)
    return FstabSpec(
        raw.name,
        text(raw.values, "base") or "",
        options,
        numbers["dump-freq"],
        numbers["fsck-passno"],
        raw.path,
    )


TYPE = NodeType(
    key="fstab",
    doc="The /etc/fstab entry of a mount.",
    commands=(),
    fields=(
        Field("name", "Name of the entry (default fstab_<base>)."),
        Field("base", "The mount (a mount node).", required=True),
        Field("options", "Mount options (default: defaults)."),
        Field("dump-freq", "dump(8) frequency (default 0)."),
        Field("fsck-passno", "fsck pass number (default 2; 1 for the root)."),
    ),
    parse=parse,
)


class Fstab(NodeBase):
    """create (the entry) -> nothing to undo."""

    def __init__(self, spec: FstabSpec, ctx: Context) -> None:
        super().__init__(ctx)
        self.spec = spec

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]:
        mount = inputs[self.spec.base]
        assert isinstance(mount, Mounted)
        entry = FstabEntry(
            self.spec.name,
            mount.mount_point,
            mount.fs,
            self.spec.options,
            self.spec.dump_freq,
            self.spec.fsck_passno,
        )
        return {self.spec.name: entry}
