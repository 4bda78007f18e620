"""GPT tables written into plain files, read back with sfdisk (no root)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from blockdev_fixtures import GPT_YAML, sfdisk_json

from dibdo.blockdev import gpt
from dibdo.blockdev._partspec import PartitioningSpec
from dibdo.blockdev.config import load
from dibdo.blockdev.layout import TablePlan, plan_table

MIB = 1 << 20


def _plan(text: str, size: int = 64 * MIB) -> TablePlan:
    spec = load(text).nodes[1]
    assert isinstance(spec, PartitioningSpec)
    plan = plan_table(spec, size)
    assert plan is not None
    return plan


def _write(tmp_path: Path, plan: TablePlan, seed: str = "seed") -> dict[str, object]:
    image = tmp_path / "disk.raw"
    with open(image, "wb") as fh:
        fh.truncate(plan.disk_size)
    gpt.write_gpt(plan, image, seed=seed)
    return sfdisk_json(image)


def test_esp_bios_boot_and_root_read_back_with_sfdisk(tmp_path: Path) -> None:
    table = _write(tmp_path, _plan(GPT_YAML))
    parts = table["partitions"]
    assert table["label"] == "gpt"
    assert [(p["name"], p["start"], p["size"], p["type"]) for p in parts] == [  # type: ignore[attr-defined]
        ("ESP", 2048, 32768, gpt.CODES["EF00"]),
        ("BSP", 34816, 16384, gpt.CODES["EF02"]),
        ("root", 51200, 64 * 2048 - 51200 - 33, gpt.CODES["8300"]),
    ]


def test_guids_are_stable_for_a_seed(tmp_path: Path) -> None:
    first = _write(tmp_path, _plan(GPT_YAML), seed="a")
    again = _write(tmp_path, _plan(GPT_YAML), seed="a")
    other = _write(tmp_path, _plan(GPT_YAML), seed="b")
    assert first["id"] == again["id"] != other["id"]
    assert first["partitions"] == again["partitions"] != other["partitions"]


def test_boot_flag_sets_the_legacy_bios_bootable_attribute(tmp_path: Path) -> None:
    table = _write(
        tmp_path, _plan(GPT_YAML.replace("type: '8300'", "type: '8300'\n" "        flags: [boot]"))
    )
    assert table["partitions"][2]["attrs"] == "LegacyBIOSBootable"  # type: ignore[index]


def test_a_code_outside_the_table_is_written_by_sgdisk(tmp_path: Path) -> None:
    table = _write(tmp_path, _plan(GPT_YAML.replace("'8300'", "'8303'")))
    root = table["partitions"][2]  # type: ignore[index]
    assert root["type"] == "44479540-F297-41B2-9AF7-D131D5F0458A"  # Linux root (x86)
    assert root["name"] == "root"


def test_every_code_in_the_table_is_a_type_sfdisk_knows() -> None:
    known = subprocess.run(
        ["sfdisk", "--list-types", "--label", "gpt"], capture_output=True, text=True, check=True
    ).stdout.upper()
    assert [code for code, guid in gpt.CODES.items() if guid not in known] == []
