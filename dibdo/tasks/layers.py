"""Making rootfs layers: the bootstrap (root.d on the host into an empty tree), each hook
step (on an overlay whose upper directory becomes the layer) and the finishing step.

Each runs inside `Store.stage()`, so a failure leaves no entry; overlays and chroot mounts
are context managers, so nothing stays mounted. The work directory overlayfs needs sits
in the staging directory and is removed before the commit.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from dibdo.rootfs.chroot import chroot_mounts, run_in_chroot
from dibdo.rootfs.mounts import overlay
from dibdo.store import Staging, remove_tree
from dibdo.tasks.build import Build
from dibdo.tasks.hooks import run_hook
from dibdo.tasks.plan import Step

# What only the build needed goes; the package list is written for the manifest.
FINISH_SCRIPT = """
rm -f /usr/sbin/policy-rc.d /etc/dpkg/dpkg.cfg.d/99mmdebstrap
rmdir /tmp/in_target.d 2>/dev/null || true
if command -v apt-get >/dev/null; then apt-get clean; rm -rf /var/lib/apt/lists/*; fi
mkdir -p /etc/dib-manifests
if command -v dpkg-query >/dev/null; then
    dpkg-query -W -f '${Package} ${Version} ${Architecture}\\n' > /etc/dib-manifests/dpkg-packages
fi
"""
POLICY_RC_D = "#!/bin/sh\n# dibdo: no daemons start while the image is built\nexit 101\n"


def lower_dirs(build: Build, layers: tuple[str, ...]) -> list[Path]:
    """The trees of `layers` (bottom first) as overlay lower dirs (top first)."""
    return [build.store.get(k).tree for k in reversed(layers)]


@contextlib.contextmanager
def layer_view(build: Build, step: Step, st: Staging) -> Iterator[Path]:
    """An overlay of the step's parent layers with `st.tree` as the upper directory."""
    st.tree.mkdir()
    work = st.path / "work"
    work.mkdir()
    merged = build.workspace / f"mnt-{step.key.digest[:12]}"
    merged.mkdir()
    try:
        with overlay(
            lower_dirs(build, step.layers), merged, upper=st.tree, work=work, journal=build.journal
        ):
            yield merged
    finally:
        merged.rmdir()
        remove_tree(work)


def bootstrap(build: Build, step: Step, st: Staging) -> None:
    """root.d of every element, on the host, into an empty tree: the base layer."""
    st.tree.mkdir()
    log = build.store.log_path(step.key.digest)
    for hook in step.hooks:
        run_hook(build, hook, st.tree, chroot=False, logfile=log)
    _prepare_base(st.tree)


def _prepare_base(tree: Path) -> None:
    """What the chroot contract needs in the base layer, so that steps add nothing of it."""
    policy = tree / "usr/sbin/policy-rc.d"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    (tree / "tmp/in_target.d").mkdir(parents=True, exist_ok=True)
    for sub in ("proc", "sys", "dev"):
        (tree / sub).mkdir(exist_ok=True)
    resolv = tree / "etc/resolv.conf"
    if not resolv.exists() and not resolv.is_symlink():
        resolv.parent.mkdir(parents=True, exist_ok=True)
        resolv.write_text("")


def hook_step(build: Build, step: Step, st: Staging) -> None:
    """One run of hooks on an overlay of the layers below: in the chroot, or on the host
    for post-root.d."""
    log = build.store.log_path(step.key.digest)
    log.write_text("")
    with layer_view(build, step, st) as root:
        mounts = (
            contextlib.nullcontext(root)
            if step.on_host
            else chroot_mounts(root, hooks=build.hooks_dir, journal=build.journal)
        )
        with mounts:
            for hook in step.hooks:
                run_hook(build, hook, root, chroot=not step.on_host, logfile=log)


def finish(build: Build, step: Step, st: Staging) -> None:
    """Remove what only the build needed (policy-rc.d, the hooks mount point, apt's
    downloaded packages) and write the package manifest into the image."""
    log = build.store.log_path(step.key.digest)
    with (
        layer_view(build, step, st) as root,
        chroot_mounts(root, hooks=None, journal=build.journal),
    ):
        run_in_chroot(root, ["/bin/sh", "-c", FINISH_SCRIPT], env={}, logfile=log)
    st.meta["packages"] = _packages(st.tree / "etc/dib-manifests/dpkg-packages")
    _write_manifest(
        build, step, st.tree / "etc/dib-manifests/dibdo-manifest.json", st.meta["packages"]
    )


# Documentation does not change what an element builds (and is not in any key).
_DOCS = frozenset({"README", "README.rst", "README.md"})


def _write_manifest(build: Build, step: Step, path: Path, packages: list[str]) -> None:
    """The manifest in the image, as DIB's manifests element keeps one in /etc/dib-manifests:
    elements with their tree digests, the environment, the layer keys and the packages."""
    from dibdo.keys import tree_digest
    from dibdo.tasks.environ import key_environment

    data = {
        "elements": {
            e.name: tree_digest(e.path, build.memo, exclude=_DOCS) for e in build.elements.elements
        },
        "environment": key_environment(build),
        "layers": list(step.layers),
        "packages": packages,
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def _packages(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return sorted(line for line in path.read_text().splitlines() if line)


__all__ = ["bootstrap", "finish", "hook_step", "layer_view", "lower_dirs"]
