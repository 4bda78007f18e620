"""Build settings: one table, one frozen `Config`.

Each setting is declared once in `SETTINGS`: its name, the environment variable DIB users
know (or dibdo's own `DIBDO_*`), the command-line flag, a parser, the default and the help.
The argument parser, the environment reader and `--help` come from that table. Only this
module (and `run()`, for PATH) reads `os.environ`.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dibdo.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEBOOTSTRAP = Path("/usr/sbin/debootstrap")


def default_mirror(script: Path = DEBOOTSTRAP) -> str:
    """The Debian mirror debootstrap itself defaults to (its `DEF_MIRROR`)."""
    try:
        text = script.read_text(errors="replace")
    except OSError:
        raise ConfigError(
            "no Debian mirror is configured and debootstrap is not installed",
            hint="set DIB_DISTRIBUTION_MIRROR, or run `dibdo setup`",
        ) from None
    match = re.search(r'^DEF_MIRROR="([^"]+)"', text, re.M)
    if not match:
        raise ConfigError(f"cannot read the default mirror from {script}")
    return match.group(1)


def security_mirror_for(mirror: str) -> str:
    """The security archive served beside a mirror (`.../debian` -> `.../debian-security`)."""
    return mirror.rstrip("/") + "-security"


def _size(text: str) -> int:
    units = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * units[match.group(2)])


def _bool(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _list(text: str) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[,\s]+", text) if part)


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    env: str | None
    flag: str | None
    parse: Callable[[str], Any]
    default: Any
    help: str
    short: str | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting("elements_path", "ELEMENTS_PATH", None, str, "", "colon-separated element dirs"),
    Setting("release", "DIB_RELEASE", "--release", str, "bookworm", "distribution release"),
    Setting("arch", "ARCH", "--arch", str, "amd64", "target architecture", "-a"),
    Setting("mirror", "DIB_DISTRIBUTION_MIRROR", "--mirror", str, None, "package mirror URL"),
    Setting(
        "security_mirror",
        "DIB_DEBIAN_SECURITY_MIRROR",
        None,
        str,
        None,
        "security archive URL (default: the mirror's -security path)",
    ),
    Setting("components", "DIB_DEBIAN_COMPONENTS", None, _list, ("main",), "archive components"),
    Setting("apt_sources", "DIB_APT_SOURCES", None, Path, None, "sources.list for the image"),
    Setting("image_size", "DIB_IMAGE_SIZE", "--image-size", float, None, "image size in GiB"),
    Setting(
        "image_extra_size",
        "DIB_IMAGE_EXTRA_SIZE",
        "--image-extra-size",
        float,
        0.0,
        "extra space in GiB beyond the content",
    ),
    Setting(
        "block_device_config",
        "DIB_BLOCK_DEVICE_CONFIG",
        None,
        str,
        None,
        "block-device YAML, inline or file://PATH",
    ),
    Setting(
        "cache_dir",
        "DIBDO_CACHE_DIR",
        "--cache-dir",
        Path,
        PROJECT_ROOT / "cache",
        "local cache directory",
    ),
    Setting(
        "cache_size",
        "DIBDO_CACHE_SIZE",
        "--cache-size",
        _size,
        50 * 2**30,
        "local cache size limit (LRU eviction)",
    ),
    Setting(
        "index_window",
        "DIBDO_INDEX_WINDOW",
        "--index-window",
        float,
        86400.0,
        "seconds a package index state stays frozen in keys",
    ),
    Setting(
        "refresh", "DIBDO_REFRESH", "--refresh", _bool, False, "renew the package index state now"
    ),
    Setting("proxy", "DIBDO_PROXY", "--proxy", str, None, "shared package proxy URL"),
    Setting(
        "remote_cache",
        "DIBDO_REMOTE_CACHE",
        "--remote-cache",
        str,
        None,
        "shared cache URL (bazel-remote HTTP protocol)",
    ),
    Setting(
        "remote_cache_mode",
        "DIBDO_REMOTE_CACHE_MODE",
        "--remote-cache-mode",
        str,
        "readwrite",
        "read, write or readwrite",
    ),
    Setting("checksum", "DIB_CHECKSUM", "--checksum", _bool, False, "write .md5/.sha256 files"),
    Setting(
        "packages", "DIB_EXTRA_PACKAGES", "--packages", _list, (), "extra packages to install", "-p"
    ),
    Setting("formats", "DIB_IMAGE_FORMATS", "--types", _list, ("qcow2",), "output formats", "-t"),
    Setting("no_base", "DIB_SKIP_BASE", "--no-base", _bool, False, "do not add `base`", "-n"),
    Setting("boot_test", "DIBDO_BOOT_TEST", "--boot-test", _bool, False, "boot-test the image"),
    Setting("verbose", "DIBDO_VERBOSE", "--verbose", _bool, False, "log every command", "-v"),
)


@dataclass(frozen=True)
class Config:
    """The parsed settings. `dib_env` holds every DIB_* variable, which elements see."""

    elements_path: str = ""
    release: str = "bookworm"
    arch: str = "amd64"
    mirror: str | None = None
    security_mirror: str | None = None
    components: tuple[str, ...] = ("main",)
    apt_sources: Path | None = None
    image_size: float | None = None
    image_extra_size: float = 0.0
    block_device_config: str | None = None
    cache_dir: Path = PROJECT_ROOT / "cache"
    cache_size: int = 50 * 2**30
    index_window: float = 86400.0
    refresh: bool = False
    proxy: str | None = None
    remote_cache: str | None = None
    remote_cache_mode: str = "readwrite"
    checksum: bool = False
    packages: tuple[str, ...] = ()
    formats: tuple[str, ...] = ("qcow2",)
    no_base: bool = False
    boot_test: bool = False
    verbose: bool = False
    dib_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def distribution_mirror(self) -> str:
        return self.mirror or default_mirror()

    @property
    def debian_security_mirror(self) -> str:
        return self.security_mirror or security_mirror_for(self.distribution_mirror)


def add_arguments(parser: argparse.ArgumentParser, *, only: Sequence[str] | None = None) -> None:
    """Add the table's flags to `parser` (all of them, or the names in `only`)."""
    for s in SETTINGS:
        if s.flag is None or (only is not None and s.name not in only):
            continue
        names = [s.flag] + ([s.short] if s.short else [])
        if s.parse is _bool:
            parser.add_argument(*names, dest=s.name, action="store_true", default=None, help=s.help)
        else:
            parser.add_argument(*names, dest=s.name, default=None, help=s.help, type=_checked(s))


def _checked(s: Setting) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return s.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{s.flag}: {exc}") from None

    return parse


def load(
    args: argparse.Namespace | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Settings from defaults, then the environment, then flags, then `overrides`."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for s in SETTINGS:
        if s.env and env.get(s.env, "") != "":
            try:
                values[s.name] = s.parse(env[s.env])
            except ValueError as exc:
                raise ConfigError(f"{s.env}: {exc}") from None
        flagged = getattr(args, s.name, None) if args is not None else None
        if flagged is not None:
            values[s.name] = flagged
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["dib_env"] = {k: v for k, v in env.items() if k.startswith("DIB_")}
    known = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known})


def environment() -> Mapping[str, str]:
    """The process environment, for the few readers outside this module's table."""
    return os.environ
