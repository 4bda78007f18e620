"""Which block-device configuration an image uses, as DIB picks it.

DIB_BLOCK_DEVICE_CONFIG (inline YAML or file://PATH) wins; else the
`block-device-<arch>.yaml` or `block-device-default.yaml` of an element in the build (the
last one in element order that has one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dibdo.config import Config
from dibdo.elements.expand import ElementSet
from dibdo.errors import ConfigError


def source(config: Config, elements: ElementSet) -> tuple[str, str]:
    """(the YAML text, where it came from)."""
    given = config.block_device_config
    if given:
        if given.startswith("file://"):
            path = Path(given[len("file://") :])
            try:
                return path.read_text(), str(path)
            except OSError as exc:
                raise ConfigError(f"DIB_BLOCK_DEVICE_CONFIG: cannot read {path}: {exc}") from None
        return given, "DIB_BLOCK_DEVICE_CONFIG"
    found: tuple[str, str] | None = None
    for element in elements.elements:
        for name in (f"block-device-{config.arch}.yaml", "block-device-default.yaml"):
            path = element.path / name
            if path.is_file():
                found = (path.read_text(), str(path))
                break
    if found is None:
        raise ConfigError(
            "no block-device configuration",
            hint="add the vm element, or set DIB_BLOCK_DEVICE_CONFIG",
        )
    return found


def load(config: Config, elements: ElementSet) -> dict[str, Any]:
    """The configuration as plain data (validated by dibdo.blockdev before use)."""
    try:
        text, origin = source(config, elements)
    except ConfigError:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from None
    return {"config": data}
