"""Level 0, `local_loop`: the disk image file and a loop device over all of it.

create: make the image file (sparse, the size given to the build or the node's `size`)
and attach it to a loop device; the device is the disk that bootloaders install to.
umount: detach. delete: detach and remove the image file. Host commands: losetup,
blockdev.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dibdo.blockdev.graph import Context, NodeBase
from dibdo.blockdev.loop import loop_device
from dibdo.blockdev.results import BlockDev, Result
from dibdo.blockdev.schema import Field, Need, NodeType, Problems, RawNode, Role
from dibdo.blockdev.units import parse_bytes


@dataclass(frozen=True)
class LocalLoopSpec:
    """A disk image file and its loop device."""

    name: str
    size: int | None = None
    path: str = field(default="", compare=False)

    def needs(self) -> tuple[Need, ...]:
        return ()

    def provides(self) -> tuple[tuple[str, Role], ...]:
        return ((self.name, Role.DISK),)

    def to_yaml(self) -> dict[str, Any]:
        values: dict[str, Any] = {"name": self.name}
        if self.size is not None:
            values["size"] = self.size
        return {"local_loop": values}


def parse(raw: RawNode, problems: Problems) -> LocalLoopSpec | None:
    if not TYPE.check_keys(raw, problems):
        return None
    size = None
    if "size" in raw.values:
        try:
            size = parse_bytes(raw.values["size"])
        except ValueError as exc:
            problems.add(f"{raw.path}.size", str(exc), node=raw.name)
    return LocalLoopSpec(raw.name, size, raw.path)


TYPE = NodeType(
    key="local_loop",
    doc="A disk image file attached to a loop device (DIB level 0).",
    commands=("losetup", "blockdev"),
    fields=(
        Field("name", "Name of the disk (usually image0).", required=True),
        Field("size", "Size of the image; default: the size computed for the build."),
        Field(
            "directory", "Accepted for DIB compatibility; the image goes where the " "build says."
        ),
    ),
    parse=parse,
)


class LocalLoop(NodeBase):
    """create (sparse file, loop device) -> umount (detach) | delete (detach, remove file)."""

    def __init__(self, spec: LocalLoopSpec, ctx: Context) -> None:
        super().__init__(ctx)
        self.spec = spec

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]:
        size = self.spec.size or self.ctx.size
        with open(self.ctx.image, "wb") as fh:
            fh.truncate(size)
        device = self.stack.enter_context(loop_device(self.ctx.image, journal=self.ctx.journal))
        return {self.spec.name: BlockDev(self.spec.name, device, 0, size)}

    def delete(self) -> None:
        try:
            super().delete()
        finally:
            self.ctx.image.unlink(missing_ok=True)
