"""LVM without activation: the command sequence and where each LV's loop device goes,
checked against a fake `run` that answers like lvm does."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from blockdev_fixtures import LVM_YAML

from dibdo.blockdev import lvm
from dibdo.blockdev._lvmspec import LvmSpec
from dibdo.blockdev.config import load
from dibdo.blockdev.graph import Context
from dibdo.blockdev.results import BlockDev
from dibdo.errors import DeviceError
from dibdo.run import Result

MIB = 1 << 20
PV = "/dev/loop7p1"


def _answer(command: str, ranges: Sequence[str]) -> dict[str, Any]:
    rows = {
        "vgs": [{"vg_name": "vg", "vg_extent_size": str(4 * MIB)}],
        "pvs": [{"pv_name": PV, "pe_start": str(MIB)}],
        "lvs": [
            {"lv_name": name, "seg_pe_ranges": r}
            for name, r in zip(("lv_root", "lv_var"), ranges, strict=False)
        ],
    }
    key = {"vgs": "vg", "pvs": "pv", "lvs": "seg"}.get(command)
    return {"report": [{key: rows[command]}], "log": []} if key else {"log": []}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    calls: dict[str, Any] = {"argv": [], "loops": [], "ranges": [f"{PV}:0-84", f"{PV}:85-94"]}

    def run(argv: Sequence[str], **kwargs: Any) -> Result:
        calls["argv"].append(tuple(os.fspath(a) for a in argv[3:]))
        text = "  WARNING: Activation disabled.\n" + json.dumps(_answer(argv[3], calls["ranges"]))
        return Result(tuple(argv), 0, text)

    @contextlib.contextmanager
    def loop_device(backing: Path, *, offset: int, size: int, journal: Any) -> Iterator[Path]:
        calls["loops"].append((offset, size))
        yield Path(f"/dev/loop{len(calls['loops'])}")

    monkeypatch.setattr(lvm, "run", run)
    monkeypatch.setattr(lvm, "loop_device", loop_device)
    return calls


def _create(tmp_path: Path) -> dict[str, Any]:
    spec = next(n for n in load(LVM_YAML).nodes if isinstance(n, LvmSpec))
    node = lvm.Lvm(spec, Context(tmp_path / "disk.raw", 512 * MIB, tmp_path))
    with node.stack:
        return dict(node.create({"root": BlockDev("root", Path(PV), MIB, 511 * MIB)}))


def test_volumes_are_made_without_activation_in_order(fake: dict[str, Any], tmp_path: Path) -> None:
    _create(tmp_path)
    commands = [(a[0], a[-1]) for a in fake["argv"]]
    assert commands == [
        ("pvcreate", PV),
        ("vgcreate", PV),
        ("lvcreate", "vg"),
        ("lvcreate", "vg"),
        ("vgs", "vg_name,vg_extent_size"),
        ("pvs", "pv_name,pe_start"),
        ("lvs", "--segments"),
    ]
    assert all(a[1:3] == ("--driverloaded", "n") for a in fake["argv"])
    lvcreate = fake["argv"][2]
    assert {"-an", "-Zn", "-l", "85%VG", "lv_root"} <= set(lvcreate)


def test_each_lv_gets_a_loop_device_at_its_extents(fake: dict[str, Any], tmp_path: Path) -> None:
    results = _create(tmp_path)
    start = MIB + MIB  # partition offset + pe_start
    assert fake["loops"] == [(start, 85 * 4 * MIB), (start + 85 * 4 * MIB, 10 * 4 * MIB)]
    assert results["lv_var"] == BlockDev("lv_var", Path("/dev/loop2"), start + 340 * MIB, 40 * MIB)


def test_an_lv_in_two_pieces_cannot_be_reached(fake: dict[str, Any], tmp_path: Path) -> None:
    fake["ranges"] = [f"{PV}:0-9 {PV}:20-29", f"{PV}:10-19"]
    with pytest.raises(DeviceError, match="lv_root is not one contiguous range"):
        _create(tmp_path)


def test_lvm_errors_are_reported_from_its_own_log(monkeypatch: pytest.MonkeyPatch) -> None:
    report = {"log": [{"log_type": "error", "log_message": "No device found for /dev/x."}]}
    monkeypatch.setattr(lvm, "run", lambda argv, **kw: Result(tuple(argv), 5, json.dumps(report)))
    with pytest.raises(DeviceError, match="pvcreate failed: No device found for /dev/x"):
        lvm.lvm("pvcreate", "/dev/x", devices=[Path("/dev/x")])


def test_lvm_sees_only_our_devices_and_writes_no_host_backups() -> None:
    config = lvm.lvm_config([Path("/dev/loop3p1")])
    assert 'filter=["a|^/dev/loop3p1$|", "r|.*|"]' in config
    assert "backup=0 archive=0" in config and "use_devicesfile=0" in config
