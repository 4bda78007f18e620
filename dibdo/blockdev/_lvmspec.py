"""The `lvm` node's options, parsed and checked, and the model of how its volumes are
laid out (used by sizing and validation, before any device exists).

pvs: name, base (a partition or disk), options. vgs: name, base (list of pvs), options.
lvs: name, base (a vg), and either `size` (lvcreate -L: "2G" is 2 GiB) or `extents`
("85%VG", "100%FREE", or a count), options. Only plain linear volumes: without
device-mapper an LV is reached through a loop device at its extents, which a thin, RAID
or striped volume does not have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dibdo.blockdev.schema import Field, Need, Problems, RawNode, Role, string_list, text
from dibdo.blockdev.units import MIB, align_up, parse_lvm_size

PE_START = MIB  # lvm's default data offset on a PV
EXTENT = 4 * MIB  # lvm's default extent size
_EXTENTS = re.compile(r"(\d+)(?:%(VG|FREE))?")

FIELDS = (
    Field("name", "Name of the lvm node.", required=True),
    Field("base", "The partitions (or disks) used as physical volumes.", required=True),
    Field("pvs", "Physical volumes: name, base, options.", required=True),
    Field("vgs", "Volume groups: name, base (list of pvs), options.", required=True),
    Field("lvs", "Logical volumes: name, base (a vg), size or extents, options.", required=True),
)


@dataclass(frozen=True)
class Volume:
    """A pv, vg or lv entry: name, base(s), options, and for an lv its size or extents."""

    name: str
    base: tuple[str, ...]
    options: tuple[str, ...] = ()
    size: int | None = None
    extents: str | None = None
    path: str = field(default="", compare=False)

    def to_yaml(self) -> dict[str, Any]:
        values: dict[str, Any] = {"name": self.name, "base": list(self.base)}
        if self.options:
            values["options"] = list(self.options)
        if self.size is not None:
            values["size"] = f"{self.size}b"
        if self.extents is not None:
            values["extents"] = self.extents
        return values


@dataclass(frozen=True)
class LvmSpec:
    """Physical volumes, volume groups and logical volumes."""

    name: str
    pvs: tuple[Volume, ...]
    vgs: tuple[Volume, ...]
    lvs: tuple[Volume, ...]
    path: str = field(default="", compare=False)

    def needs(self) -> tuple[Need, ...]:
        roles = frozenset({Role.DEVICE, Role.DISK})
        return tuple(Need(pv.base[0], roles, f"{pv.path}.base") for pv in self.pvs)

    def provides(self) -> tuple[tuple[str, Role], ...]:
        return (
            (self.name, Role.OTHER),
            *((v.name, Role.PV) for v in self.pvs),
            *((v.name, Role.VG) for v in self.vgs),
            *((v.name, Role.DEVICE) for v in self.lvs),
        )

    def to_yaml(self) -> dict[str, Any]:
        return {"lvm": {
            "name": self.name, "base": [pv.base[0] for pv in self.pvs],
            "pvs": [v.to_yaml() for v in self.pvs], "vgs": [v.to_yaml() for v in self.vgs],
            "lvs": [v.to_yaml() for v in self.lvs],
        }}  # fmt: skip


def parse_lvm(raw: RawNode, problems: Problems) -> LvmSpec:
    """The spec of an lvm node; problems are added, never raised."""
    volumes = {key: _volumes(raw, key, problems) for key in ("pvs", "vgs", "lvs")}
    pvs, vgs, lvs = volumes["pvs"], volumes["vgs"], volumes["lvs"]
    pv_names, vg_names = {v.name for v in pvs}, {v.name for v in vgs}
    for vg in vgs:
        for base in vg.base:
            if base not in pv_names:
                problems.add(
                    f"{vg.path}.base", f"'{base}' is not a pv of this lvm node", node=vg.name
                )
    for lv in lvs:
        if len(lv.base) != 1 or lv.base[0] not in vg_names:
            problems.add(
                f"{lv.path}.base",
                f"'{','.join(lv.base)}' is not a vg of this lvm " "node",
                node=lv.name,
            )
    return LvmSpec(raw.name, pvs, vgs, lvs, raw.path)


def _volumes(raw: RawNode, key: str, problems: Problems) -> tuple[Volume, ...]:
    items = raw.values.get(key)
    if not isinstance(items, list) or not items:
        problems.add(f"{raw.path}.{key}", "must be a non-empty list", node=raw.name)
        return ()
    out = []
    for i, item in enumerate(items):
        path = f"{raw.path}.{key}[{i}]"
        volume = _volume(item, key, path, problems) if isinstance(item, dict) else None
        if volume is None and not isinstance(item, dict):
            problems.add(path, "must be a mapping with name and base", node=raw.name)
        if volume is not None:
            out.append(volume)
    return tuple(out)


def _volume(item: Mapping[str, Any], key: str, path: str, problems: Problems) -> Volume | None:
    name, base = text(item, "name") or "", string_list(item.get("base"))
    allowed = {"name", "base", "options"} | ({"size", "extents", "type"} if key == "lvs" else set())
    for option in item:
        if option not in allowed:
            problems.add(f"{path}.{option}", f"unknown option for {key}", node=name)
    if not name or not base:
        problems.add(path, "needs a name and a base", node=name)
        return None
    opts = item.get("options")
    options = tuple(str(opts).split()) if isinstance(opts, str) else string_list(opts)
    if key != "lvs":
        return Volume(name, base, options, path=path)
    if str(item.get("type", "linear")) != "linear":
        problems.add(
            f"{path}.type",
            f"'{item['type']}' volumes are not supported, only linear "
            "ones (reached without device-mapper at their extents)",
            node=name,
        )
    size, extents = _amount(item, path, name, problems)
    return Volume(name, base, options, size, extents, path)


def _amount(
    item: Mapping[str, Any], path: str, name: str, problems: Problems
) -> tuple[int | None, str | None]:
    if ("size" in item) == ("extents" in item):
        problems.add(path, "needs exactly one of size and extents", node=name)
        return None, "100%FREE"
    if "size" in item:
        try:
            return parse_lvm_size(item["size"]), None
        except ValueError as exc:
            problems.add(f"{path}.size", str(exc), node=name)
            return None, "100%FREE"
    extents = str(item["extents"]).strip()
    match = _EXTENTS.fullmatch(extents)
    if not match or int(match.group(1)) == 0 or (match.group(2) and int(match.group(1)) > 100):
        problems.add(
            f"{path}.extents",
            f"'{extents}' is not an extent count or a percentage " "like 85%VG or 100%FREE",
            node=name,
        )
        return None, "100%FREE"
    return None, extents


def model(spec: LvmSpec, pv_sizes: Mapping[str, int], problems: Problems) -> dict[str, int]:
    """Each LV's size in bytes as lvm will lay it out with its defaults (1 MiB data offset,
    4 MiB extents), given the size of each PV's base device; overflows are problems."""
    pv_extents = {
        pv.name: max(pv_sizes.get(pv.base[0], 0) - PE_START, 0) // EXTENT for pv in spec.pvs
    }
    total = {vg.name: sum(pv_extents.get(b, 0) for b in vg.base) for vg in spec.vgs}
    free = dict(total)
    out: dict[str, int] = {}
    for lv in spec.lvs:
        vg = lv.base[0]
        want = _lv_extents(lv, total.get(vg, 0), free.get(vg, 0))
        if want <= 0 or want > free.get(vg, 0):
            problems.add(
                f"{lv.path}",
                f"needs {want} extents of {EXTENT // MIB} MiB but vg "
                f"'{vg}' has {free.get(vg, 0)} free",
                node=lv.name,
            )
            want = max(min(want, free.get(vg, 0)), 0)
        free[vg] = free.get(vg, 0) - want
        out[lv.name] = want * EXTENT
    return out


def _lv_extents(lv: Volume, total: int, free: int) -> int:
    if lv.size is not None:
        return align_up(lv.size, EXTENT) // EXTENT
    match = _EXTENTS.fullmatch(lv.extents or "100%FREE")
    assert match is not None
    count, of = int(match.group(1)), match.group(2)
    if of is None:
        return count
    return count * (total if of == "VG" else free) // 100
