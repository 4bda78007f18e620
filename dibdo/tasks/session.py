"""Opening a build: expand the elements, assemble the hooks directory, start the proxy,
settle the package-index state, connect the remote cache.

`open_build()` is a context manager that owns all of it: on exit it waits for uploads,
stops the proxy, saves the stat memo and removes the workspace, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from dibdo import log
from dibdo.config import PROJECT_ROOT, Config
from dibdo.elements.discover import search_path
from dibdo.elements.expand import ElementSet, expand
from dibdo.elements.hooks import environment_files, merged_hooks
from dibdo.elements.packages import PhasePackages, os_family, package_installs, pkg_map_table
from dibdo.journal import Journal, for_process
from dibdo.keys import StatMemo
from dibdo.store import Store, remove_tree
from dibdo.store.remote import RemoteCache
from dibdo.tasks import blockdev_config, index_state
from dibdo.tasks.build import Build, ImageSpec
from dibdo.tasks.environ import resolve
from dibdo.tasks.hooks import run_hook
from dibdo.tasks.report import Report

# Read on the host, not carried into the chroot's hooks directory.
_HOST_ONLY = (
    "README",
    "README.rst",
    "README.md",
    "element-deps",
    "element-provides",
    "package-installs.yaml",
    "package-installs.json",
    "pkg-map",
)


def elements_for(config: Config, spec: ImageSpec) -> ElementSet:
    path = search_path(config.elements_path or None, PROJECT_ROOT / "elements")
    return expand(spec.elements, path=path, add_base=not spec.no_base, arch=config.arch)


def assemble_hooks(elements: ElementSet, dest: Path) -> None:
    """Every element's tree merged into one hooks directory, as DIB copies them."""
    dest.mkdir(parents=True)
    for element in elements.elements:
        for item in sorted(element.path.iterdir()):
            if item.name in _HOST_ONLY or item.name.startswith("block-device-"):
                continue
            if item.is_dir():
                shutil.copytree(item, dest / item.name, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(item, dest / item.name, follow_symlinks=False)


def write_package_lists(packages: dict[str, PhasePackages], hooks: Path) -> None:
    """The per-phase lists our package-installs element's scripts read in the chroot."""
    target = hooks / "package-installs"
    target.mkdir(exist_ok=True)
    for phase, lists in packages.items():
        lines = [f"install {p}" for p in lists.install + lists.build_only]
        lines += [f"uninstall {p}" for p in lists.uninstall]
        lines += [f"build-only {p}" for p in lists.build_only]
        (target / phase).write_text("\n".join(lines) + "\n")


def write_pkg_map_tables(elements: ElementSet, hooks: Path, env: Mapping[str, str]) -> None:
    """One table per element with a pkg-map, read by the in-chroot `pkg-map` helper."""
    distro, family, release = _distro(env)
    target = hooks / "pkg-map"
    for element in elements.elements:
        table = pkg_map_table(element, distro=distro, family=family, release=release)
        if table:
            target.mkdir(exist_ok=True)
            lines = [" ".join((name, *mapped)) for name, mapped in table.items()]
            (target / element.name).write_text("\n".join(lines) + "\n")


def _distro(env: Mapping[str, str]) -> tuple[str, str, str]:
    distro = env.get("DISTRO_NAME", "debian")
    family = env.get("DIB_DISTRO_FAMILY") or os_family(distro)
    return distro, family, env.get("DIB_RELEASE", "")


def _packages(
    config: Config, spec: ImageSpec, elements: ElementSet, env: dict[str, str]
) -> dict[str, PhasePackages]:
    distro, family, release = _distro(env)
    packages = package_installs(
        elements.elements,
        env=env,
        distro=distro,
        family=family,
        release=release or config.release,
        arch=config.arch,
    )
    if spec.packages:
        base = packages.get("install.d", PhasePackages())
        packages["install.d"] = PhasePackages(
            base.install + spec.packages, base.uninstall, base.build_only
        )
    return packages


@contextlib.contextmanager
def open_build(
    config: Config,
    spec: ImageSpec,
    *,
    store: Store,
    proxy_url: str | None,
    remote: RemoteCache | None = None,
) -> Iterator[Build]:
    """A Build ready for `image_tasks()`; its workspace is removed on exit."""
    elements = elements_for(config, spec)
    journal = for_process(config.cache_dir)
    workspace = config.cache_dir / "work" / f"{os.getpid()}-{spec.name}"
    remove_tree(workspace)
    workspace.mkdir(parents=True)
    journal.record("dir", path=os.fspath(workspace))
    memo = StatMemo(config.cache_dir / "statmemo.json")
    try:
        hooks = workspace / "hooks"
        assemble_hooks(elements, hooks)
        env = resolve(
            environment_files(elements.elements),
            {**config.dib_env, **spec.env, "ARCH": config.arch},
        )
        packages = _packages(config, spec, elements, env)
        write_package_lists(packages, hooks)
        write_pkg_map_tables(elements, hooks, env)
        build = Build(
            config=config,
            spec=spec,
            store=store,
            elements=elements,
            hooks_dir=hooks,
            workspace=workspace,
            journal=journal,
            memo=memo,
            packages=packages,
            report=Report(spec.name),
            proxy_url=proxy_url,
            index_state=index_state.current(config, proxy_url),
            blockdev_json=blockdev_config.load(config, elements),
            remote=remote,
        )
        _extra_data(build)
        yield build
    finally:
        memo.save()
        remove_tree(workspace)


def _extra_data(build: Build) -> None:
    """extra-data.d runs on the host before the plan, writing into the hooks directory."""
    hooks = merged_hooks(build.elements.elements, "extra-data.d")
    if not hooks:
        return
    log_file = build.workspace / "extra-data.log"
    with log.step("extra-data.d"):
        for hook in hooks:
            run_hook(build, hook, build.workspace, chroot=False, logfile=log_file)


__all__ = ["Journal", "open_build"]
