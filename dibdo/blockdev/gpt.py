"""Writing a GPT into the image file, with the exact sectors of the plan.

sfdisk does it in a blink when the partition types are GUIDs; DIB configurations name
types by sgdisk's four-digit codes, so the common codes are translated here. A code not
in the table is handed to sgdisk, which knows them all but pauses a second per run.
Disk and partition GUIDs derive from a seed, so the same build makes the same table.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from dibdo.blockdev.layout import TablePlan
from dibdo.blockdev.units import SECTOR
from dibdo.run import output, run

# sgdisk type codes -> GPT partition type GUIDs (the Discoverable Partitions names).
CODES = {
    "8300": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",  # Linux filesystem
    "EF00": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",  # EFI system partition
    "EF02": "21686148-6449-6E6F-744E-656564454649",  # BIOS boot partition
    "8200": "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",  # Linux swap
    "8E00": "E6D6D379-F507-44C2-A23C-238F2A3DF928",  # Linux LVM
    "FD00": "A19D880F-05FC-4D3B-A006-743F0F84911E",  # Linux RAID
    "8301": "8DA63339-0007-60C0-C436-083AC8230908",  # Linux reserved
    "8302": "933AC7E1-2EB4-4F13-B844-0E14E2AEF915",  # Linux /home
    "8304": "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",  # Linux root (x86-64)
    "8305": "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",  # Linux root (ARM64)
    "EA00": "BC13C2FF-59E6-4262-A352-B275FD6F7172",  # XBOOTLDR (/boot)
    "0700": "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",  # Microsoft basic data
}


def guid(seed: str, what: str) -> str:
    """A stable GUID for `what` of the disk made from `seed`."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"dibdo-gpt:{seed}:{what}")).upper()


def type_guid(code: str) -> str | None:
    """The type GUID of an sgdisk code or GUID, or None when only sgdisk knows it."""
    return code if len(code) == 36 else CODES.get(code)


def sfdisk_script(plan: TablePlan, *, seed: str) -> str:
    """sfdisk's input for `plan` (every type must have a GUID)."""
    lines = ["label: gpt", f"label-id: {guid(seed, 'disk')}", "unit: sectors"]
    for p in plan.partitions:
        fields = [
            f"start={p.start // SECTOR}",
            f"size={p.size // SECTOR}",
            f"type={type_guid(p.type)}",
            f"uuid={guid(seed, p.name)}",
            f'name="{p.name}"',
        ]
        if p.bootable:
            fields.append('attrs="LegacyBIOSBootable"')
        lines.append(", ".join(fields))
    return "\n".join(lines) + "\n"


def sgdisk_argv(plan: TablePlan, image: Path, *, seed: str) -> list[str]:
    """sgdisk's command line for `plan`."""
    argv = ["sgdisk", "--set-alignment=1", "--clear", f"--disk-guid={guid(seed, 'disk')}"]
    for p in plan.partitions:
        n, first, last = p.number, p.start // SECTOR, (p.start + p.size) // SECTOR - 1
        argv += [
            f"--new={n}:{first}:{last}",
            f"--typecode={n}:{p.type}",
            f"--change-name={n}:{p.name}",
            f"--partition-guid={n}:{guid(seed, p.name)}",
        ]
        if p.bootable:
            argv.append(f"--attributes={n}:set:2")
    return [*argv, os.fspath(image)]


def write_gpt(plan: TablePlan, image: Path, *, seed: str) -> None:
    """Write `plan` as a GPT into the file `image`."""
    if all(type_guid(p.type) for p in plan.partitions):
        script = sfdisk_script(plan, seed=seed).encode()
        argv = ["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never"]
        argv.append(os.fspath(image))
        run(argv, input=script, capture=True)
    else:
        output(sgdisk_argv(plan, image, seed=seed))
