"""Level 1, `lvm`: physical volumes, volume groups and linear logical volumes, made
without activating anything (no device-mapper needed).

create: pvcreate / vgcreate / lvcreate with `--driverloaded n` (lvcreate `-an -Zn`),
restricted by a device filter to our own PV devices and writing no backups to the host's
/etc/lvm; then read where each LV lies (`pvs -o pe_start`, `vgs -o vg_extent_size`,
`lvs -o seg_pe_ranges`) and attach a loop device over the image file at the LV's offset
and size: that is the LV's block device for mkfs and mount. The booted guest activates
the VG normally. umount/delete: detach those loop devices, and deactivate the VG where
device-mapper exists (a host's udev may have auto-activated it).
Host commands: pvcreate, vgcreate, lvcreate, pvs, vgs, lvs, vgchange, losetup.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dibdo import log
from dibdo.blockdev._lvmspec import FIELDS, LvmSpec, parse_lvm
from dibdo.blockdev.graph import Context, NodeBase
from dibdo.blockdev.host import has_device_mapper
from dibdo.blockdev.loop import loop_device
from dibdo.blockdev.results import BlockDev, Result
from dibdo.blockdev.schema import NodeType, Problems, RawNode
from dibdo.errors import DeviceError
from dibdo.run import base_env, run


def parse(raw: RawNode, problems: Problems) -> LvmSpec | None:
    if not TYPE.check_keys(raw, problems):
        return None
    return parse_lvm(raw, problems)


TYPE = NodeType(
    key="lvm",
    doc="LVM physical volumes, volume groups and linear logical volumes, made without "
    "activation; each LV is reached through a loop device at its extents.",
    commands=("pvcreate", "vgcreate", "lvcreate", "pvs", "vgs", "lvs", "vgchange", "losetup"),
    fields=FIELDS,
    parse=parse,
)


def lvm_config(devices: Sequence[Path]) -> str:
    """An lvm --config string that sees only `devices`, leaves the host's files alone and
    reports its messages inside the JSON report."""
    accept = ", ".join(f'"a|^{os.fspath(d)}$|"' for d in devices)
    rules = f'[{accept}, "r|.*|"]'
    return (
        f"devices {{ filter={rules} global_filter={rules} use_devicesfile=0 "
        'obtain_device_list_from_udev=0 hints="none" } '
        "backup { backup=0 archive=0 } activation { udev_sync=0 udev_rules=0 } "
        "log { report_command_log=1 }"
    )


def lvm(
    command: str, *args: str | os.PathLike[str], devices: Sequence[Path], dm: bool = False
) -> dict[str, Any]:
    """Run one lvm command seeing only `devices`, without device-mapper unless `dm`;
    its JSON report.

    lvm prints one warning ("Activation disabled") on stderr before its report; the
    shell wrapper folds it into stdout, where it is dropped, so a build log stays clean
    and a failure is explained by lvm's own error lines."""
    driver = () if dm else ("--driverloaded", "n")
    argv = [
        "sh",
        "-c",
        'exec "$0" "$@" 2>&1',
        command,
        *driver,
        "--reportformat",
        "json",
        "--config",
        lvm_config(devices),
        *args,
    ]
    result = run(argv, capture=True, check=False, env=base_env({"LVM_SUPPRESS_FD_WARNINGS": "1"}))
    report = _json(result.stdout)
    if result.returncode != 0:
        errors = [e["log_message"] for e in report.get("log", []) if e["log_type"] == "error"]
        detail = "; ".join(errors) or result.stdout.strip()[-500:]
        raise DeviceError(f"{command} failed: {detail}", hint=shlex.join(argv[3:]))
    return report


def _json(text: str) -> dict[str, Any]:
    """The JSON report in lvm's output, after any warning lines."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("{")), None)
    if start is None:
        return {}
    try:
        data, _ = json.JSONDecoder().raw_decode("\n".join(lines[start:]).strip())
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class Lvm(NodeBase):
    """create (pvs, vgs, lvs; a loop device per LV) -> umount | delete (detach, deactivate)."""

    def __init__(self, spec: LvmSpec, ctx: Context) -> None:
        super().__init__(ctx)
        self.spec = spec

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]:
        bases = {pv.name: _blockdev(inputs[pv.base[0]]) for pv in self.spec.pvs}
        devices = [b.device for b in bases.values()]
        self._make(bases, devices)
        extent = {
            r["vg_name"]: int(r["vg_extent_size"])
            for r in _rows("vgs", "vg", "vg_name,vg_extent_size", devices)
        }
        starts = _pe_starts(devices)
        segments = _segments(devices)
        out: dict[str, Result] = {}
        for lv in self.spec.lvs:
            device, first, count = _one_segment(lv.name, segments)
            base = next(b for b in bases.values() if b.device == device)
            offset = base.offset + starts[device] + first * extent[lv.base[0]]
            size = count * extent[lv.base[0]]
            loop = loop_device(self.ctx.image, offset=offset, size=size, journal=self.ctx.journal)
            out[lv.name] = BlockDev(lv.name, self.stack.enter_context(loop), offset, size)
        return out

    def _make(self, bases: Mapping[str, BlockDev], devices: list[Path]) -> None:
        for pv in self.spec.pvs:
            lvm("pvcreate", "-y", *pv.options, bases[pv.name].device, devices=devices)
        for vg in self.spec.vgs:
            pv_devices = [bases[name].device for name in vg.base]
            lvm("vgcreate", *vg.options, vg.name, *pv_devices, devices=devices)
            if self.ctx.journal:
                self.ctx.journal.record(
                    "lvm-vg", vg=vg.name, devices=[os.fspath(d) for d in devices]
                )
            self.stack.callback(deactivate, vg.name, devices)
        for lv in self.spec.lvs:
            amount = ["-L", f"{lv.size}b"] if lv.size is not None else ["-l", lv.extents or ""]
            lvm(
                "lvcreate",
                "-an",
                "-Zn",
                "--wipesignatures",
                "n",
                "-y",
                "-n",
                lv.name,
                *amount,
                *lv.options,
                lv.base[0],
                devices=devices,
            )


def deactivate(vg: str, devices: Sequence[Path]) -> None:
    """Deactivate `vg` where device-mapper exists (nothing is active without it)."""
    if has_device_mapper():
        try:
            lvm("vgchange", "-an", vg, devices=devices, dm=True)
        except DeviceError as exc:
            log.warn(f"could not deactivate volume group {vg}: {exc.message}")


def _blockdev(result: Result) -> BlockDev:
    if not isinstance(result, BlockDev):
        raise DeviceError(f"{result.name} is not a block device")
    return result


def _rows(
    command: str, key: str, fields: str, devices: Sequence[Path], *extra: str
) -> list[dict[str, str]]:
    report = lvm(command, "--units", "b", "--nosuffix", "-o", fields, *extra, devices=devices)
    rows: list[dict[str, str]] = report["report"][0][key]
    return rows


def _pe_starts(devices: Sequence[Path]) -> dict[Path, int]:
    return {
        Path(r["pv_name"]): int(r["pe_start"])
        for r in _rows("pvs", "pv", "pv_name,pe_start", devices)
    }


def _segments(devices: Sequence[Path]) -> list[dict[str, str]]:
    return _rows("lvs", "seg", "lv_name,seg_pe_ranges", devices, "--segments")


def _one_segment(name: str, segments: list[dict[str, str]]) -> tuple[Path, int, int]:
    """The PV device, first extent and extent count of LV `name`, which must be contiguous."""
    mine = [s for s in segments if s["lv_name"] == name]
    ranges = [r for s in mine for r in s["seg_pe_ranges"].split()]
    if len(ranges) != 1:
        raise DeviceError(
            f"logical volume {name} is not one contiguous range of extents "
            f"({' '.join(ranges) or 'none'}); it cannot be reached without "
            "device-mapper"
        )
    device, _, span = ranges[0].rpartition(":")
    first, _, last = span.partition("-")
    return Path(device), int(first), int(last) - int(first) + 1
