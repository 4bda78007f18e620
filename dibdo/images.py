"""images.yaml: named images for dodo.py (`doit image:<name>`).

Each entry: elements, release, arch, formats, size (GiB), packages, env (extra DIB_*).
Outputs go to `out/<name>.<format>`. The build session (store, proxy, remote) opens
when doit loads the tasks and closes when the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
from pathlib import Path
from typing import Any

import yaml

from dibdo import config as cfg
from dibdo.errors import ConfigError, DibdoError, die
from dibdo.tasks import image_tasks
from dibdo.tasks.build import ImageSpec
from dibdo.tasks.runner import doit_config
from dibdo.tasks.session_stack import build_session, install_signal_handlers

IMAGES = cfg.PROJECT_ROOT / "images.yaml"
OUT = cfg.PROJECT_ROOT / "out"


def read_images(path: Path = IMAGES) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of image names")
    return data


def spec_for(name: str, entry: dict[str, Any]) -> tuple[ImageSpec, dict[str, Any]]:
    env = {str(k): str(v) for k, v in (entry.get("env") or {}).items()}
    spec = ImageSpec(
        name=name,
        elements=tuple(entry["elements"]),
        formats=tuple(entry.get("formats", ["qcow2"])),
        output=OUT / name,
        packages=tuple(entry.get("packages", [])),
        env=env,
    )
    overrides = {
        "release": entry.get("release"),
        "arch": entry.get("arch"),
        "image_size": entry.get("size"),
    }
    return spec, overrides


def doit_namespace() -> dict[str, Any]:
    """`task_image...` generators and DOIT_CONFIG for dodo.py."""
    install_signal_handlers()
    try:
        images = read_images()
        specs = [spec_for(name, entry) for name, entry in images.items()]
        config = cfg.load(None)
        stack = contextlib.ExitStack()
        session = build_session(config, [s for s, _ in specs], overrides=[o for _, o in specs])
        builds = stack.enter_context(session)
    except DibdoError as exc:
        die(exc.message, hint=exc.hint)
    atexit.register(stack.close)

    def task_images() -> Any:
        for build in builds:
            yield from image_tasks(build)

    conf = doit_config(config.cache_dir)
    conf.pop("reporter")
    return {"task_images": task_images, "DOIT_CONFIG": conf}
