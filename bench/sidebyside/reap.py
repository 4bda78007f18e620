"""What a build left behind: mounts under the bench directory, loop devices backed by files
under it, and /dev/mapper links of the kpartx stand-in. `reap()` names each one and undoes it
(mounts innermost first, then partition nodes and loop devices, then links)."""

from __future__ import annotations

import os
from pathlib import Path

from dibdo.run import run


def _unescape(field: str) -> str:
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mounts_under(root: Path) -> list[str]:
    prefix = os.fspath(root).rstrip("/") + "/"
    points = [_unescape(line.split()[1]) for line in Path("/proc/mounts").read_text().splitlines()]
    return [p for p in points if p.startswith(prefix)]


def loops_under(root: Path) -> list[tuple[str, str]]:
    """(device, backing file) of loop devices whose file lies under `root`."""
    result = run(
        ["losetup", "--list", "--noheadings", "--raw", "-O", "NAME,BACK-FILE"],
        capture=True,
        check=False,
    )
    prefix = os.fspath(root).rstrip("/") + "/"
    pairs = [tuple(line.split(" ", 1)) for line in result.stdout.splitlines() if " " in line]
    return [(dev, back) for dev, back in pairs if back.startswith(prefix)]


def mapper_links() -> list[Path]:
    mapper = Path("/dev/mapper")
    return sorted(p for p in mapper.glob("loop*p*") if p.is_symlink()) if mapper.is_dir() else []


def reap(root: Path) -> list[str]:
    """Undo what is left; return one line per leftover (empty: the build cleaned up)."""
    found: list[str] = []
    for point in sorted(mounts_under(root), key=len, reverse=True):
        found.append(f"mount {point}")
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)
    for dev, back in loops_under(root):
        found.append(f"loop device {dev} ({back})")
        run(["partx", "-d", dev], check=False)
        run(["losetup", "-d", dev], check=False)
    for link in mapper_links():
        found.append(f"link {link}")
        link.unlink()
    return found
