"""The cleanup journal: every mount, loop device and temp dir is recorded when made.

A build appends one JSON line per resource to `CACHE/journal/<pid>.jsonl` right after
making it, and removes the file when it ends cleanly. `dibdo cleanup` reads the journals
of builds that are no longer running and undoes what is still there, newest first.
Lines: {"kind": "mount", "path": ...}, {"kind": "loop", "device": ..., "backing": ...},
{"kind": "dir", "path": ...}.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dibdo.run import run

_ACTIVE: list[Journal] = []


class Journal:
    """An append-only record of resources made by one process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, kind: str, **fields: Any) -> None:
        with open(self.path, "a") as fh:
            fh.write(json.dumps({"kind": kind, **fields}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def close(self) -> None:
        """The process ended cleanly: everything it recorded was undone."""
        self.path.unlink(missing_ok=True)


def for_process(cache_dir: Path) -> Journal:
    """This process's journal under the cache directory."""
    return Journal(cache_dir / "journal" / f"{os.getpid()}.jsonl")


def entries(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text().splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def mounted_paths() -> set[str]:
    """Mount points currently in /proc/mounts (octal escapes decoded)."""
    with open("/proc/mounts") as fh:
        return {line.split()[1].encode().decode("unicode_escape") for line in fh}


def reap(journal_dir: Path) -> list[str]:
    """Undo what dead builds left; returns one line per resource released."""
    done: list[str] = []
    for path in sorted(journal_dir.glob("*.jsonl")):
        if _alive(path.stem):
            continue
        done += _undo(list(entries(path)))
        path.unlink()
    return done


def any_alive(journal_dir: Path) -> bool:
    """Whether a build that keeps a journal here is still running."""
    return any(_alive(p.stem) for p in journal_dir.glob("*.jsonl"))


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _undo(records: list[dict[str, Any]]) -> list[str]:
    done: list[str] = []
    for rec in reversed(records):
        kind = rec.get("kind")
        if kind == "mount" and rec["path"] in mounted_paths():
            run(["umount", "-l", rec["path"]], check=False)
            done.append(f"unmounted {rec['path']}")
        elif kind == "loop" and _loop_backing(rec["device"]) == rec.get("backing"):
            run(["partx", "-d", rec["device"]], check=False)
            run(["losetup", "-d", rec["device"]], check=False)
            done.append(f"detached {rec['device']}")
        elif kind == "dir" and Path(rec["path"]).exists():
            run(["rm", "-rf", "--one-file-system", rec["path"]], check=False)
            done.append(f"removed {rec['path']}")
        elif kind not in ("mount", "loop", "dir"):
            from dibdo.blockdev.reap import undo

            line = undo(rec)
            if line:
                done.append(line)
    return done


def _loop_backing(device: str) -> str | None:
    name = Path(device).name
    try:
        return Path(f"/sys/block/{name}/loop/backing_file").read_text().strip()
    except OSError:
        return None
