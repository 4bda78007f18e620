"""The chroot a hook runs in, with DIB's contract.

Inside: /proc, /dev, /dev/pts, a read-only /sys, the host's resolv.conf (during the build
only), the hooks read-only at /tmp/in_target.d, and daemons blocked by the
policy-rc.d the bootstrap puts in the base layer. Everything mounted here is unmounted,
in reverse order, when the block ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from dibdo.journal import Journal
from dibdo.rootfs.mounts import mounted
from dibdo.run import Result, run

HOOKS_IN_TARGET = Path("/tmp/in_target.d")
CHROOT_PATH = "/tmp/in_target.d/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _inside(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


@contextlib.contextmanager
def chroot_mounts(root: Path, *, hooks: Path | None, journal: Journal | None) -> Iterator[Path]:
    """Mount the chroot's kernel file systems and the hooks under `root`."""
    with contextlib.ExitStack() as stack:

        def mount(src: str | Path, dest: str, **kw: object) -> None:
            target = _inside(root, Path(dest))
            target.mkdir(parents=True, exist_ok=True)
            stack.enter_context(mounted(src, target, journal=journal, **kw))  # type: ignore[arg-type]

        mount("proc", "/proc", fstype="proc")
        mount("/dev", "/dev", bind=True)
        mount("devpts", "/dev/pts", fstype="devpts", options=("newinstance", "ptmxmode=0666"))
        mount("/sys", "/sys", bind=True, options=("ro",))
        resolv = _inside(root, Path("/etc/resolv.conf"))
        if Path("/etc/resolv.conf").exists() and resolv.is_file() and not resolv.is_symlink():
            stack.enter_context(
                mounted(
                    Path("/etc/resolv.conf").resolve(),
                    resolv,
                    bind=True,
                    options=("ro",),
                    journal=journal,
                )
            )
        if hooks is not None:
            mount(hooks, os.fspath(HOOKS_IN_TARGET), bind=True, options=("ro",))
        yield root


def run_in_chroot(
    root: Path,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    logfile: Path | None = None,
) -> Result:
    """Run `argv` inside the chroot at `root` with exactly `env` (plus the chroot's PATH)."""
    full = {"PATH": CHROOT_PATH, "LANG": "C.UTF-8", "HOME": "/root", **env}
    return run(["chroot", root, *argv], env=full, logfile=logfile)
