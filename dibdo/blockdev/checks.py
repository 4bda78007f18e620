"""Whole-configuration checks, run after every node has been parsed on its own.

One disk; names unique; every base names something of the right kind (a partitioning
needs a disk, an mkfs a block device, a mount a file system, an fstab a mount); one file
system per mount point and one at `/`; labels unique; and, when the disk size is known,
every partition and volume fits.
"""

from __future__ import annotations

from collections.abc import Sequence

from dibdo.blockdev.layout import device_sizes
from dibdo.blockdev.localloop import LocalLoopSpec
from dibdo.blockdev.mkfs import MkfsSpec
from dibdo.blockdev.mount import MountSpec
from dibdo.blockdev.schema import Problems, Role, Spec


def check_graph(specs: Sequence[Spec], problems: Problems) -> None:
    """Add every structural problem of `specs` to `problems`."""
    _one_disk(specs, problems)
    roles = _unique_names(specs, problems)
    for spec in specs:
        for need in spec.needs():
            role = roles.get(need.name)
            if role is None:
                problems.add(need.path, f"'{need.name}' is not defined by any node", node=spec.name)
            elif role not in need.roles:
                wanted = " or ".join(sorted(r.value for r in need.roles))
                problems.add(
                    need.path, f"'{need.name}' is a {role.value}, not a {wanted}", node=spec.name
                )
    _mounts(specs, problems)
    _labels(specs, problems)


def check_fit(specs: Sequence[Spec], disk_size: int | None, problems: Problems) -> None:
    """Check that everything fits a disk of `disk_size` bytes (or the disk's own size)."""
    disk = next((s for s in specs if isinstance(s, LocalLoopSpec)), None)
    size = (disk.size if disk else None) or disk_size
    if size is not None:
        device_sizes(specs, size, problems)


def _one_disk(specs: Sequence[Spec], problems: Problems) -> None:
    disks = [s for s in specs if isinstance(s, LocalLoopSpec)]
    if not disks:
        problems.add("block-device", "there is no local_loop node (the disk image)")
    for extra in disks[1:]:
        problems.add(
            extra.path, "only one local_loop (one disk image) is supported", node=extra.name
        )


def _unique_names(specs: Sequence[Spec], problems: Problems) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    owner: dict[str, Spec] = {}
    for spec in specs:
        for name, role in spec.provides():
            if name in roles:
                problems.add(
                    spec.path,
                    f"name '{name}' is already used by {owner[name].path}",
                    node=spec.name,
                )
                continue
            roles[name], owner[name] = role, spec
    return roles


def _mounts(specs: Sequence[Spec], problems: Problems) -> None:
    seen: dict[str, MountSpec] = {}
    for spec in specs:
        if not isinstance(spec, MountSpec):
            continue
        other = seen.get(spec.mount_point)
        if other is not None:
            problems.add(
                f"{spec.path}.mount_point",
                f"'{spec.mount_point}' is already the "
                f"mount point of '{other.name}' ({other.path})",
                node=spec.name,
            )
        seen.setdefault(spec.mount_point, spec)
    if "/" not in seen:
        problems.add("block-device", "no file system is mounted at /")


def _labels(specs: Sequence[Spec], problems: Problems) -> None:
    seen: dict[str, MkfsSpec] = {}
    for spec in specs:
        if isinstance(spec, MkfsSpec):
            other = seen.setdefault(spec.label, spec)
            if other is not spec:
                problems.add(
                    f"{spec.path}.label",
                    f"'{spec.label}' is already the label of " f"'{other.name}'",
                    node=spec.name,
                )
