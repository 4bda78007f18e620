"""The output formats dibdo converts an image to, and parsing of `-t qcow2,raw,tar`.

Each format says what it is made from: the raw disk (`needs_disk`), the final root
filesystem tree (`needs_tree`) or the stack of step layers (`needs_layers`).
"""

from __future__ import annotations

import enum

from dibdo.errors import ConfigError


class Format(enum.Enum):
    """One output format; its value is the name used on the command line (as in DIB)."""

    RAW = "raw"
    QCOW2 = "qcow2"
    VMDK = "vmdk"
    VHD = "vhd"
    VHDX = "vhdx"
    TAR = "tar"
    TGZ = "tgz"
    SQUASHFS = "squashfs"
    DOCKER = "docker"

    @property
    def suffix(self) -> str:
        """The file name suffix of the output: `NAME.<suffix>`."""
        return "docker.tar" if self is Format.DOCKER else self.value

    @property
    def needs_disk(self) -> bool:
        """Converted from the raw disk image."""
        return self in _DISK_FORMATS

    @property
    def needs_tree(self) -> bool:
        """Archived from the final root filesystem tree."""
        return self in (Format.TAR, Format.TGZ, Format.SQUASHFS)

    @property
    def needs_layers(self) -> bool:
        """Assembled from the step layers (overlayfs upper directories)."""
        return self is Format.DOCKER


_DISK_FORMATS = (Format.RAW, Format.QCOW2, Format.VMDK, Format.VHD, Format.VHDX)

# Other spellings users type for the same outputs.
_ALIASES = {"docker.tar": Format.DOCKER, "tar.gz": Format.TGZ, "img": Format.RAW}


def parse_format(name: str) -> Format:
    """One format by name (case-insensitive), or a ConfigError listing the valid ones."""
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return Format(key)
    except ValueError:
        valid = ", ".join(f.value for f in Format)
        raise ConfigError(
            f"unknown image format {name!r}", hint=f"valid formats: {valid}"
        ) from None


def parse_formats(text: str) -> tuple[Format, ...]:
    """`"qcow2,raw,tar"` -> the formats in the order given, without duplicates."""
    names = [part for part in text.replace(" ", ",").split(",") if part.strip()]
    if not names:
        raise ConfigError("no image format given", hint="e.g. -t qcow2 or -t qcow2,raw,tar")
    formats = [parse_format(name) for name in names]
    return tuple(dict.fromkeys(formats))
