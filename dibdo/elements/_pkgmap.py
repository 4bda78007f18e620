"""pkg-map: translating an element's generic package names to the target distribution's.

An element's `pkg-map` file is JSON with up to four sections, most specific winning:
`release` (`{distro: {release: {name: packages}}}`) over `distro` (`{distro: {...}}`)
over `family` (`{family: {...}}`) over `default` (`{...}`). A mapped value is a
whitespace-separated list of packages; an empty value (or null) drops the package.
Re-exported by `dibdo.elements.packages`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from dibdo.elements._load import load_json
from dibdo.elements.discover import Element
from dibdo.errors import ConfigError

_FAMILIES = {
    "redhat": ("almalinux", "centos", "centos7", "fedora", "openeuler", "rhel", "rhel7", "rocky"),
    "debian": ("debian", "ubuntu"),
    "suse": ("opensuse",),
    "gentoo": ("gentoo",),
}


def os_family(distro: str) -> str:
    """The pkg-map family of a distribution name (`debian` for ubuntu), or '' if none."""
    for family, distros in _FAMILIES.items():
        if distro in distros:
            return family
    return ""


def _section(data: Mapping[str, object], keys: tuple[str, ...], path: Path) -> dict[str, object]:
    """`data[keys[0]][keys[1]]...`, {} where a key is absent; an error where it is no object."""
    node: object = data
    for depth, key in enumerate(keys):
        if not isinstance(node, dict):
            where = ".".join(keys[:depth]) or "top level"
            raise ConfigError(f"{os.fspath(path)}: {where} is not a JSON object")
        node = node.get(key, {})
    if not isinstance(node, dict):
        raise ConfigError(f"{os.fspath(path)}: {'.'.join(keys)} is not a JSON object")
    return node


def _name_map(path: Path, *, distro: str, family: str, release: str) -> dict[str, object]:
    data = load_json(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{os.fspath(path)}: the top level is not a JSON object")
    table: dict[str, object] = {}
    table.update(_section(data, ("default",), path))
    table.update(_section(data, ("family", family), path) if family else {})
    table.update(_section(data, ("distro", distro), path))
    table.update(_section(data, ("release", distro, release), path) if release else {})
    return table


def _mapped(value: object, name: str, path: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        raise ConfigError(f"{os.fspath(path)}: the mapping of {name!r} is not a string")
    return value.split()


def pkg_map(
    element: Element,
    names: Iterable[str],
    *,
    distro: str,
    family: str,
    release: str,
    missing_ok: bool,
) -> tuple[str, ...]:
    """`names` translated with `element`'s pkg-map, as DIB's `pkg-map --element` does.

    With `missing_ok`, a missing pkg-map file or a name it does not map passes through
    unchanged (what package-installs asks for); without, either is a ConfigError.
    """
    path = element.path / "pkg-map"
    names = tuple(names)
    if not path.is_file():
        if missing_ok:
            return names
        raise ConfigError(f"element {element.name!r} has no pkg-map file ({os.fspath(path)})")
    table = _name_map(path, distro=distro, family=family, release=release)
    out: list[str] = []
    for name in names:
        if name in table:
            out.extend(_mapped(table[name], name, path))
        elif missing_ok:
            out.append(name)
        else:
            raise ConfigError(
                f"{os.fspath(path)}: no mapping for package {name!r} "
                f"(distro {distro}, family {family or 'none'}, release {release or 'none'})",
                hint="add the name to the pkg-map's default section",
            )
    return tuple(out)


def pkg_map_table(
    element: Element, *, distro: str, family: str, release: str
) -> dict[str, tuple[str, ...]]:
    """Every name `element`'s pkg-map maps for this distro, with what it maps to (for the
    in-chroot `pkg-map`, which reads the table instead of the JSON)."""
    path = element.path / "pkg-map"
    if not path.is_file():
        return {}
    table = _name_map(path, distro=distro, family=family, release=release)
    return {name: tuple(_mapped(value, name, path)) for name, value in sorted(table.items())}
