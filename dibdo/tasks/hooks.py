"""Running hook scripts: in the chroot or on the host, as DIB does, one log per step.

A failing script raises StepFailed naming the element, phase, script and exit status,
with the last lines of its log.
"""

from __future__ import annotations

import os
from pathlib import Path

from dibdo.elements.hooks import Hook
from dibdo.errors import StepFailed
from dibdo.rootfs.chroot import HOOKS_IN_TARGET, run_in_chroot
from dibdo.run import base_env, run
from dibdo.tasks.build import Build
from dibdo.tasks.environ import SOURCE_ENVIRONMENT, hook_environment

_TAIL = 25


def run_hook(
    build: Build,
    hook: Hook,
    root: Path,
    *,
    chroot: bool,
    logfile: Path,
    extra_env: dict[str, str] | None = None,
) -> None:
    """Run one hook against the tree at `root`."""
    env = {**hook_environment(build), **(extra_env or {})}
    with open(logfile, "a") as fh:
        fh.write(f"=== {hook.element.name}/{hook.phase}/{hook.name}\n")
    try:
        if chroot:
            script = os.fspath(HOOKS_IN_TARGET / hook.phase / hook.name)
            env["DIB_ENV_DIR"] = os.fspath(HOOKS_IN_TARGET / "environment.d")
            env["TMP_HOOKS_PATH"] = os.fspath(HOOKS_IN_TARGET)
            run_in_chroot(
                root,
                ["/bin/bash", "-c", SOURCE_ENVIRONMENT + 'exec "$0"', script],
                env=env,
                logfile=logfile,
            )
        else:
            script = os.fspath(build.hooks_dir / hook.phase / hook.name)
            host = base_env(
                {
                    **env,
                    "TARGET_ROOT": os.fspath(root),
                    "TMP_MOUNT_PATH": os.fspath(root),
                    "DIB_ENV_DIR": os.fspath(build.hooks_dir / "environment.d"),
                }
            )
            host["PATH"] = f"{build.hooks_dir / 'bin'}:{host['PATH']}"
            run(["bash", "-c", SOURCE_ENVIRONMENT + 'exec "$0"', script], env=host, logfile=logfile)
    except StepFailed as exc:
        raise StepFailed(
            f"{hook.phase} script {hook.name} of element {hook.element.name} failed: "
            f"{exc.message.split(':')[0]}",
            hint=f"log: {logfile}\n" + _tail(logfile),
        ) from None


def _tail(logfile: Path) -> str:
    lines = logfile.read_text(errors="replace").splitlines()[-_TAIL:]
    return "\n".join("  | " + line for line in lines)
