"""Mounts as context managers: plain, bind and overlay. Undone in reverse order of making.

Each mount records itself in the journal right after it is made and is unmounted when its
block ends, whatever happened inside. Unmounting retries a busy mount a few times (a
process in the chroot may still be exiting) and falls back to a lazy unmount, logging why.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dibdo import log
from dibdo.errors import DeviceError, StepFailed
from dibdo.journal import Journal
from dibdo.run import retry, run

# Overlay features that would write trusted.overlay.* metadata into the upper directory;
# off, so that an upper directory is a clean layer (whiteouts and opaque dirs only).
OVERLAY_OPTIONS = ("index=off", "redirect_dir=off", "metacopy=off", "xino=off")


@contextlib.contextmanager
def mounted(
    source: str | Path,
    target: Path,
    *,
    fstype: str | None = None,
    options: Sequence[str] = (),
    bind: bool = False,
    cwd: Path | None = None,
    journal: Journal | None = None,
) -> Iterator[Path]:
    """Mount `source` on `target` for the duration of the block."""
    argv: list[str | os.PathLike[str]] = ["mount"]
    if bind:
        argv.append("--bind")
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", ",".join(options)]
    argv += [source, target]
    try:
        run(argv, cwd=cwd)
    except StepFailed as exc:
        raise DeviceError(f"cannot mount {source} on {target}: {exc.message}") from None
    if journal:
        journal.record("mount", path=os.fspath(target))
    try:
        if bind and "ro" in options:
            run(["mount", "-o", "remount,bind,ro", target])
        yield target
    finally:
        umount(target)


def umount(target: Path) -> None:
    """Unmount `target`, retrying while busy, lazily as a last resort."""
    try:
        retry(f"umount {target}", lambda: run(["umount", target]), attempts=4, delay=0.25)
    except StepFailed:
        log.warn(f"{target} stayed busy; unmounting lazily")
        run(["umount", "-l", target], check=False)


@contextlib.contextmanager
def overlay(
    lowers: Sequence[Path],
    target: Path,
    *,
    upper: Path | None = None,
    work: Path | None = None,
    journal: Journal | None = None,
) -> Iterator[Path]:
    """An overlay of `lowers` (top first) on `target`; read-only when there is no upper.

    Lower paths are given relative to their common parent (mount resolves them from its
    working directory) so that long layer chains stay under the kernel's option limit.
    """
    if not lowers:
        raise DeviceError("an overlay needs at least one lower layer")
    if len(lowers) == 1 and upper is None:
        with mounted(lowers[0], target, bind=True, options=("ro",), journal=journal) as path:
            yield path
        return
    base = Path(os.path.commonpath([os.fspath(p) for p in lowers]))
    opts = ["lowerdir=" + ":".join(os.fspath(p.relative_to(base)) or "." for p in lowers)]
    if upper is not None and work is not None:
        opts += [f"upperdir={upper}", f"workdir={work}"]
    opts += list(OVERLAY_OPTIONS)
    with mounted(
        "overlay", target, fstype="overlay", options=opts, cwd=base, journal=journal
    ) as path:
        yield path
