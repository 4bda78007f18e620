"""Where each partition goes: the one computation that validation, sizing and the
partition-table writers share.

Starts are aligned (1 MiB unless the node says otherwise). A percentage takes that share
of the space left at that point, so `50%` then `100%` halves the rest of the disk; a
share smaller than the rest is rounded down to the alignment so the next start needs no
gap. GPT keeps 33 sectors at the end for its backup table. An MBR logical partition
starts one alignment unit after its extended boot record (as DIB lays them out); the
extended partition spans from the first EBR to the end of the last logical partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dibdo.blockdev._lvmspec import LvmSpec, model
from dibdo.blockdev._partspec import PartitioningSpec, PartitionSpec, partition_numbers
from dibdo.blockdev.localloop import LocalLoopSpec
from dibdo.blockdev.schema import Problems
from dibdo.blockdev.units import SECTOR, align_down, align_up, human

_GPT_HEAD = 34 * SECTOR  # protective MBR, header, 128 entries
_GPT_TAIL = 33 * SECTOR  # backup entries and header
MBR_LIMIT = 2**32 * SECTOR


@dataclass(frozen=True)
class PartitionPlan:
    """One partition's number, place (bytes in the image) and type."""

    name: str
    number: int
    start: int
    size: int
    type: str
    bootable: bool
    logical: bool = False
    ebr: int | None = None


@dataclass(frozen=True)
class TablePlan:
    """A whole partition table: label, partitions, and the extended partition if any."""

    label: str
    disk_size: int
    partitions: tuple[PartitionPlan, ...]
    extended: tuple[int, int] | None = None  # (start, size) in bytes

    def partition(self, name: str) -> PartitionPlan:
        return next(p for p in self.partitions if p.name == name)


def plan_table(
    spec: PartitioningSpec, disk_size: int, problems: Problems | None = None
) -> TablePlan | None:
    """The layout of `spec` on a disk of `disk_size` bytes, or None (problems added)."""
    problems = problems if problems is not None else Problems()
    before = len(problems.items)
    numbers = partition_numbers(spec, problems)
    gpt = spec.label == "gpt"
    cursor = align_up(_GPT_HEAD if gpt else SECTOR, spec.align)
    end = align_down(disk_size - (_GPT_TAIL if gpt else 0), SECTOR)
    if not gpt and disk_size > MBR_LIMIT:
        problems.add(
            f"{spec.path}.label",
            f"an MBR cannot address a {human(disk_size)} disk " "(2 TiB at most); use gpt",
            node=spec.name,
        )
    out: list[PartitionPlan] = []
    for part, number in zip(spec.partitions, numbers, strict=True):
        logical = not gpt and "logical" in part.flags
        ebr = align_up(cursor, spec.align) if logical else None
        start = align_up(cursor if ebr is None else ebr + SECTOR, spec.align)
        size = _size(part, end - start, spec.align)
        if size <= 0 or start + size > end:
            _no_room(part, size, max(end - start, 0), disk_size, spec.name, problems)
            size = max(size, 0)
        out.append(
            PartitionPlan(
                part.name,
                number,
                start,
                size,
                part.type,
                part.bootable,
                logical,
                None if ebr is None else ebr,
            )
        )
        cursor = start + size
    if len(problems.items) > before:
        return None
    logicals = [p for p in out if p.logical]
    extended = None
    if logicals:
        first = logicals[0].ebr or 0
        extended = (first, logicals[-1].start + logicals[-1].size - first)
    return TablePlan(spec.label, disk_size, tuple(out), extended)


def _size(part: PartitionSpec, free: int, align: int) -> int:
    if part.size.bytes is not None:
        return align_up(part.size.bytes, SECTOR)
    size = part.size.resolve(max(free, 0))
    return align_down(size, align) if size < free else align_down(size, SECTOR)


def _no_room(
    part: PartitionSpec, size: int, free: int, disk: int, node: str, problems: Problems
) -> None:
    left = f"only {human(free)} is" if free else "nothing is"
    want = f"needs {human(size)} but {left}" if size > 0 else f"gets no space: {left}"
    problems.add(
        f"{part.path}.size",
        f"partition '{part.name}' {want} left of the {human(disk)} disk",
        node=node,
    )


def device_sizes(
    specs: Sequence[object], disk_size: int, problems: Problems | None = None
) -> dict[str, int]:
    """The size of every block device (disk, partitions, LVs) on a `disk_size` disk, as
    planned before anything exists; what does not fit is added to `problems`."""
    problems = problems if problems is not None else Problems()
    sizes: dict[str, int] = {}
    for spec in specs:
        if isinstance(spec, LocalLoopSpec):
            sizes[spec.name] = spec.size or disk_size
    for spec in specs:
        if isinstance(spec, PartitioningSpec):
            table = plan_table(spec, sizes.get(spec.base, 0), problems)
            sizes.update({p.name: p.size for p in table.partitions} if table else {})
    for spec in specs:
        if isinstance(spec, LvmSpec):
            sizes.update(model(spec, sizes, problems))
    return sizes
