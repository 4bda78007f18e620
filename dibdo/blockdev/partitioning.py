"""Level 1, `partitioning`: a partition table written into the image file, and a block
device per partition.

create: lay the partitions out (`layout.plan_table`), write the table into the image
*file* (MBR: our own writer, `mbr.py`; GPT: `gpt.py`, sfdisk or sgdisk), then reach the
partitions through the whole-disk loop device with `partx -a` (/dev/loopNpM, which
grub-install needs to see), or, where the kernel refuses that, through one loop device
per partition at its offset and size. umount/delete: remove the partition nodes or
detach those loop devices. Host commands: sfdisk or sgdisk (GPT), partx, losetup,
blockdev.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from dibdo import log
from dibdo.blockdev import mbr
from dibdo.blockdev._partspec import FIELDS, PartitioningSpec, parse_partitioning
from dibdo.blockdev.gpt import write_gpt
from dibdo.blockdev.graph import Context, NodeBase
from dibdo.blockdev.layout import TablePlan, plan_table
from dibdo.blockdev.loop import loop_device, partition_nodes
from dibdo.blockdev.results import BlockDev, Result
from dibdo.blockdev.schema import NodeType, Problems, RawNode
from dibdo.blockdev.units import SECTOR
from dibdo.errors import DeviceError


def parse(raw: RawNode, problems: Problems) -> PartitioningSpec | None:
    if not TYPE.check_keys(raw, problems):
        return None
    return parse_partitioning(raw, problems)


TYPE = NodeType(
    key="partitioning",
    doc="An MBR or GPT partition table on a disk; each partition becomes a block device.",
    commands=("sfdisk", "sgdisk", "partx", "losetup", "blockdev"),
    fields=FIELDS,
    parse=parse,
)


def write_table(plan: TablePlan, image: Path, *, seed: str) -> None:
    """Write `plan` into `image` (a file): our MBR writer, or the GPT writer."""
    if plan.label == "gpt":
        write_gpt(plan, image, seed=seed)
        return

    def entry(start: int, size: int, kind: int, boot: bool = False) -> mbr.Entry:
        return mbr.Entry(start // SECTOR, size // SECTOR, kind, boot)

    primaries: list[mbr.Entry] = []
    logicals: list[mbr.Logical] = []
    for p in plan.partitions:
        made = entry(p.start, p.size, int(p.type, 16), p.bootable)
        if p.logical:
            if not logicals and plan.extended:
                primaries.append(entry(*plan.extended, mbr.EXTENDED))
            logicals.append(mbr.Logical((p.ebr or 0) // SECTOR, made))
        else:
            primaries.append(made)
    signature = uuid.uuid5(uuid.NAMESPACE_OID, f"dibdo-mbr:{seed}").int & 0xFFFFFFFF
    mbr.write_mbr(image, primaries, logicals, signature=signature)


class Partitioning(NodeBase):
    """create (table into the file, then partition devices) -> umount | delete (release)."""

    def __init__(self, spec: PartitioningSpec, ctx: Context) -> None:
        super().__init__(ctx)
        self.spec = spec

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]:
        disk = inputs[self.spec.base]
        assert isinstance(disk, BlockDev)
        problems = Problems()
        plan = plan_table(self.spec, disk.size, problems)
        if plan is None:
            raise DeviceError("the partitions do not fit: " + "; ".join(problems.items))
        write_table(plan, self.ctx.image, seed=self.ctx.seed)
        devices = self._devices(disk, plan)
        return {
            p.name: BlockDev(p.name, devices[p.number], p.start, p.size) for p in plan.partitions
        }

    def _devices(self, disk: BlockDev, plan: TablePlan) -> dict[int, Path]:
        numbers = [p.number for p in plan.partitions]
        try:
            nodes = partition_nodes(disk.device, numbers, journal=self.ctx.journal)
            return dict(self.stack.enter_context(nodes))
        except DeviceError as exc:
            log.warn(f"{exc.message}; using a loop device per partition instead")
        out: dict[int, Path] = {}
        for p in plan.partitions:
            loop = loop_device(
                self.ctx.image, offset=p.start, size=p.size, journal=self.ctx.journal
            )
            out[p.number] = self.stack.enter_context(loop)
        return out
