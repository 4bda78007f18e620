"""Undoing what a killed build left of its block devices, from its cleanup journal.

The block-device layer records, right after making each: {"kind": "loop", "device",
"backing"}, {"kind": "partx", "device", "backing"}, {"kind": "lvm-vg", "vg", "devices"}
and (through `dibdo.rootfs.mounts`) {"kind": "mount", "path"}. `reap()` walks a journal
newest first and undoes each record that still stands, checking first that it is still
ours (a loop device still backed by the same file, a path still mounted); records of
other kinds are left to their owners. `dibdo cleanup` calls it for journals of builds that
are no longer running.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dibdo import log
from dibdo.blockdev.host import has_device_mapper
from dibdo.blockdev.loop import backing_file, release_loop
from dibdo.blockdev.lvm import deactivate
from dibdo.errors import DibdoError
from dibdo.journal import mounted_paths
from dibdo.rootfs.mounts import umount
from dibdo.run import run


def records(journal: Path) -> list[dict[str, Any]]:
    """The records of `journal`, oldest first (unreadable lines skipped)."""
    out = []
    for line in journal.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def reap(journal: Path) -> list[str]:
    """Undo what is left of the block-device records in `journal`, newest first; one line
    per resource released."""
    done = []
    for record in reversed(records(journal)):
        try:
            line = undo(record)
        except DibdoError as exc:
            log.warn(f"could not undo {record}: {exc.message}")
            continue
        if line:
            log.info(line)
            done.append(line)
    return done


def undo(record: Mapping[str, Any]) -> str | None:
    """Undo one record if it still stands; a line saying what was done, or None."""
    kind = record.get("kind")
    if kind == "mount" and record.get("path") in mounted_paths():
        umount(Path(record["path"]))
        return f"unmounted {record['path']}"
    device = Path(str(record.get("device", "")))
    if kind == "partx" and _ours(device, record):
        run(["partx", "-d", device], check=False)
        return f"removed the partition nodes of {device}"
    if kind == "loop" and _ours(device, record):
        release_loop(device)
        return f"detached {device} ({record['backing']})"
    if kind == "lvm-vg" and has_device_mapper():
        deactivate(str(record["vg"]), [Path(d) for d in record.get("devices", [])])
        return f"deactivated volume group {record['vg']}"
    return None


def _ours(device: Path, record: Mapping[str, Any]) -> bool:
    """True when `device` is still a loop device over the file the record names."""
    current = backing_file(device) if device.name.startswith("loop") else None
    return current is not None and current == record.get("backing")
