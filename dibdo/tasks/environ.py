"""The environment hooks see, as DIB gives it, and the part of it that enters keys.

DIB sources every element's environment.d before each phase; the variables that result
(DISTRO_NAME, DIB_RELEASE, ...) are what the host needs too, to map package names. We
source them once on the host at plan time (`resolve()`), and again in every hook's shell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from dibdo.run import run

if TYPE_CHECKING:
    from dibdo.tasks.build import Build

# Per-build paths and the output name: different on every runner, never part of a key.
# IMAGE_ELEMENT enters only the keys of steps whose scripts read it (see tasks.plan).
_NOT_IN_KEY = (
    "TMP_HOOKS_PATH",
    "TARGET_ROOT",
    "TMP_MOUNT_PATH",
    "TMP_BUILD_DIR",
    "IMAGE_NAME",
    "IMAGE_ELEMENT_YAML",
    "IMAGE_ELEMENT",
    "DIB_IMAGE_CACHE",
    "http_proxy",
    "https_proxy",
    "DIB_BLOCK_DEVICE_CONFIG",
    "PATH",
    "HOME",
)

SOURCE_ENVIRONMENT = 'for _f in "$DIB_ENV_DIR"/*; do [ -f "$_f" ] && . "$_f"; done; unset _f\n'


def resolve(env_files: Sequence[Path], base: Mapping[str, str]) -> dict[str, str]:
    """The environment after sourcing `env_files` in order on top of `base`."""
    script = "".join(f'. "{p}"\n' for p in env_files) + "env -0\n"
    out = run(
        ["bash", "-c", "set -a\n" + script], env={**base, "PATH": _host_path()}, capture=True
    ).stdout
    pairs = (item.split("=", 1) for item in out.split("\0") if "=" in item)
    return {k: v for k, v in pairs if k not in ("PWD", "SHLVL", "_", "OLDPWD")}


def _host_path() -> str:
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def hook_environment(build: Build) -> dict[str, str]:
    """What every hook gets (before environment.d is sourced in its own shell)."""
    names = " ".join(build.elements.names)
    paths = {e.name: str(e.path) for e in build.elements.elements}
    env = {
        **build.config.dib_env,
        **build.spec.env,
        "ARCH": build.config.arch,
        "DIB_RELEASE": build.config.release,
        "DIB_DISTRIBUTION_MIRROR": build.config.distribution_mirror,
        "DIB_DEBIAN_SECURITY_MIRROR": build.config.debian_security_mirror,
        "DIB_DEBIAN_COMPONENTS": ",".join(build.config.components),
        "DIB_INIT_SYSTEM": "systemd",
        "DIB_PYTHON_VERSION": "3",
        "IMAGE_ELEMENT": names,
        "IMAGE_ELEMENT_YAML": yaml.safe_dump(paths, default_flow_style=True).strip(),
        "IMAGE_NAME": build.spec.output.name,
        "DIB_IMAGE_CACHE": str(build.config.cache_dir / "dib-image-cache"),
        "TMP_HOOKS_PATH": str(build.hooks_dir),
        "DEBIAN_FRONTEND": "noninteractive",
    }
    if build.config.apt_sources:
        env["DIB_APT_SOURCES"] = str(build.config.apt_sources)
    if build.proxy_url:
        env["http_proxy"] = build.proxy_url
    return env


def key_environment(build: Build) -> dict[str, str]:
    """The hook environment minus per-build paths: what keys depend on."""
    env = hook_environment(build)
    return {k: v for k, v in sorted(env.items()) if k not in _NOT_IN_KEY}
