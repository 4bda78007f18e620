"""Loop devices and their partition nodes, as context managers.

`loop_device()` attaches a file (optionally a window of it: offset and size limit),
records the device in the journal, holds a BSD lock on it so udev leaves it alone, and on
the way out flushes its buffers, detaches it and waits (with a timeout) until the kernel
has let it go. `partition_nodes()` asks the kernel for /dev/loopNpM nodes with `partx -a`
(BLKPG: works where the loop driver scans no partitions, max_part=0) and removes them
with `partx -d`. Whoever enters the context owns the device until the block ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dibdo.errors import DeviceError, StepFailed
from dibdo.journal import Journal
from dibdo.run import output, retry, run


def backing_file(device: Path) -> str | None:
    """The file behind loop device `device`, or None when it is not attached."""
    try:
        return Path(f"/sys/block/{device.name}/loop/backing_file").read_text().strip()
    except OSError:
        return None


@contextlib.contextmanager
def loop_device(
    backing: Path,
    *,
    offset: int = 0,
    size: int | None = None,
    journal: Journal | None = None,
) -> Iterator[Path]:
    """Attach `backing` (from `offset`, at most `size` bytes) to a free loop device."""
    argv: list[str | os.PathLike[str]] = ["losetup", "--show", "-f"]
    if offset:
        argv += ["--offset", str(offset)]
    if size is not None:
        argv += ["--sizelimit", str(size)]
    try:
        device = Path(output([*argv, backing]))
    except StepFailed as exc:
        raise DeviceError(f"cannot attach {backing} to a loop device: {exc.message}") from None
    if journal:
        journal.record("loop", device=os.fspath(device), backing=os.fspath(backing.resolve()))
    fd = -1
    try:
        fd = _lock(device)
        yield device
    finally:
        release_loop(device, fd)


def _lock(device: Path) -> int:
    """Hold an exclusive BSD lock on the disk: udev leaves a locked disk and its
    partitions alone (systemd's "Locking Block Device Access"), so it does not open them
    behind our back and keep them busy when they are to be detached."""
    fd = os.open(device, os.O_RDONLY | os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # udev is probing right now: it only costs time
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def release_loop(device: Path, fd: int = -1) -> None:
    """Flush, close our handle, detach `device` and wait until the kernel lets it go."""
    try:
        run(["blockdev", "--flushbufs", device], check=False)
    finally:
        if fd >= 0:
            os.close(fd)
    run(["losetup", "-d", device], check=False)
    _wait_gone(device)


def _wait_gone(device: Path) -> None:
    def gone() -> None:
        if backing_file(device) is not None:
            raise DeviceError(f"{device} is still attached")

    try:
        retry(f"waiting for {device} to detach", gone, attempts=20, delay=0.05, on=DeviceError)
    except DeviceError:
        raise DeviceError(
            f"{device} did not detach",
            hint=f"something still uses it; see `losetup -l {device}` and `fuser -m {device}`",
        ) from None


@contextlib.contextmanager
def partition_nodes(
    disk: Path, numbers: Sequence[int], *, journal: Journal | None = None
) -> Iterator[dict[int, Path]]:
    """/dev/<disk>pN for each partition number, made with `partx -a`, removed at the end."""
    try:
        run(["blockdev", "--flushbufs", disk])
        # A loop device detached with partitions still added keeps them (the loop driver
        # drops them only when it scanned them itself): clear any such leftovers first.
        if any(Path("/sys/block", disk.name).glob(f"{disk.name}p*")):
            run(["partx", "-d", disk], check=False)
        run(["partx", "-a", disk])
    except StepFailed as exc:
        raise DeviceError(f"cannot add the partitions of {disk}: {exc.message}") from None
    if journal:
        journal.record("partx", device=os.fspath(disk), backing=backing_file(disk))
    try:
        nodes = {n: Path(f"{disk}p{n}") for n in numbers}
        _wait_nodes(list(nodes.values()))
        yield nodes
    finally:
        for node in Path(disk).parent.glob(f"{disk.name}p*"):
            run(["blockdev", "--flushbufs", node], check=False)
        run(["partx", "-d", disk], check=False)


def _wait_nodes(nodes: list[Path]) -> None:
    def present() -> None:
        missing = [os.fspath(n) for n in nodes if not n.exists()]
        if missing:
            raise DeviceError(f"partition nodes did not appear: {', '.join(missing)}")

    retry("waiting for partition nodes", present, attempts=20, delay=0.05, on=DeviceError)
