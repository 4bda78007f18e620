"""package-installs: the packages each phase installs and removes, from every element.

Each element may have `package-installs.json` and/or `package-installs.yaml` (both are
read, JSON first, as DIB does): a mapping of package name to nothing or to options:

- `phase`: the phase whose package step installs it (default `install.d`);
- `uninstall`: remove it instead of installing it;
- `build-only`: install it, and remove it once the phase's scripts are done;
- `arch` / `not-arch`: comma-separated architectures to install on / to skip (not both);
- `when`: `VAR = value` or `VAR != value`, or a list of them that must all hold; the
  variable must be set;
- `installtype`: install only if the element's install type (`DIB_INSTALLTYPE_<element>`
  with `-` as `_`, else `DIB_DEFAULT_INSTALLTYPE`, else `source`) is this one;
- `dib_python_version`: install only if `DIB_PYTHON_VERSION` is this.

`uninstall: false` and `build-only: false` mean what they say (DIB's docs), although
DIB's own script treats the mere presence of the key as true. The names are then
translated with the element's pkg-map (names it does not map pass through, as DIB's
`package-installs` asks with `--missing-ok`). Nothing here holds a resource.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dibdo import log
from dibdo.elements._load import load_json, load_yaml
from dibdo.elements._pkgmap import os_family, pkg_map, pkg_map_table
from dibdo.elements.discover import Element
from dibdo.elements.hooks import PHASES
from dibdo.errors import ConfigError

__all__ = ["PhasePackages", "os_family", "package_installs", "pkg_map", "pkg_map_table"]

_KEYS = frozenset(
    {
        "phase",
        "uninstall",
        "build-only",
        "arch",
        "not-arch",
        "when",
        "installtype",
        "dib_python_version",
    }
)
_WHEN = re.compile(r"(?P<var>\w+)\s*(?P<op>!=|=)\s*(?P<value>.*)")
_KINDS = ("install", "uninstall", "build_only")


@dataclass(frozen=True)
class PhasePackages:
    """What one phase's package step does.

    `install` and `build_only` are installed; `uninstall` and, once the phase's scripts
    have run, `build_only` are removed.
    """

    install: tuple[str, ...] = ()
    uninstall: tuple[str, ...] = ()
    build_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Entry:
    """One package line of one element that applies to this build."""

    element: Element
    package: str
    phase: str
    kind: str


def _files(element: Element) -> list[tuple[Path, object]]:
    json_path = element.path / "package-installs.json"
    yaml_path = element.path / "package-installs.yaml"
    found: list[tuple[Path, object]] = []
    if json_path.is_file():
        found.append((json_path, load_json(json_path, yaml_fallback=True)))
    if yaml_path.is_file():
        found.append((yaml_path, load_yaml(yaml_path)))
    return found


def _arch_ok(params: Mapping[str, object], arch: str, where: str) -> bool:
    only, never = params.get("arch"), params.get("not-arch")
    if only and never:
        raise ConfigError(f"{where}: both arch and not-arch are set", hint="keep one of them")
    listed = only or never
    if not listed:
        return True
    items = listed if isinstance(listed, list) else str(listed).split(",")
    inside = arch in (str(a).strip() for a in items)
    return inside if only else not inside


def _when_ok(params: Mapping[str, object], env: Mapping[str, str], where: str) -> bool:
    statements = params.get("when")
    if statements is None:
        return True
    for statement in statements if isinstance(statements, list) else [statements]:
        match = _WHEN.fullmatch(str(statement).strip())
        if match is None:
            raise ConfigError(f"{where}: bad when: {statement!r}", hint="write VAR = value")
        var, op, value = match.group("var", "op", "value")
        if var not in env:
            raise ConfigError(f"{where}: when: {var} is not set", hint=f"set {var}")
        if (env[var] == value) != (op == "="):
            return False
    return True


def _installtype_ok(params: Mapping[str, object], element: Element, env: Mapping[str, str]) -> bool:
    wanted = params.get("installtype")
    if wanted is None:
        return True
    default = env.get("DIB_DEFAULT_INSTALLTYPE", "source")
    return str(wanted) == env.get(f"DIB_INSTALLTYPE_{element.name.replace('-', '_')}", default)


def _python_ok(params: Mapping[str, object], env: Mapping[str, str]) -> bool:
    wanted = params.get("dib_python_version")
    return wanted is None or str(wanted) == env.get("DIB_PYTHON_VERSION", "")


def _params(value: object, where: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: the options are not a mapping")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        log.warn(f"{where}: ignoring unknown option(s) {', '.join(map(str, unknown))}")
    return value


def _entry(
    element: Element, package: str, value: object, *, env: Mapping[str, str], arch: str, where: str
) -> _Entry | None:
    params = _params(value, where)
    checks = (  # all evaluated, so that a bad `when` is reported whatever the arch
        _installtype_ok(params, element, env),
        _arch_ok(params, arch, where),
        _python_ok(params, env),
        _when_ok(params, env, where),
    )
    if not all(checks):
        return None
    phase = params.get("phase", "install.d")
    if not isinstance(phase, str):
        raise ConfigError(f"{where}: phase is not a name: {phase!r}")
    kind = "build_only" if params.get("build-only") else "install"
    kind = "uninstall" if kind == "install" and params.get("uninstall") else kind
    return _Entry(element, package, phase, kind)


def _entries(element: Element, *, env: Mapping[str, str], arch: str) -> list[_Entry]:
    """The package lines of `element` that apply to this build."""
    entries: list[_Entry] = []
    for path, data in _files(element):
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{os.fspath(path)}: expected a mapping of package names")
        for package, value in data.items():
            where = f"{os.fspath(path)}: {package}"
            entry = _entry(element, str(package), value, env=env, arch=arch, where=where)
            if entry is not None:
                entries.append(entry)
    return entries


def _phase_order(phase: str) -> tuple[int, str]:
    return (PHASES.index(phase) if phase in PHASES else len(PHASES), phase)


def package_installs(
    elements: Sequence[Element],
    *,
    env: Mapping[str, str],
    distro: str,
    family: str,
    release: str,
    arch: str,
) -> dict[str, PhasePackages]:
    """Phase -> the packages its package step installs and removes, pkg-mapped, in phase order.

    Packages keep the order of the elements, then of each file; a package listed twice
    in one list is kept once.
    """
    lists: dict[str, dict[str, dict[str, None]]] = {}
    for element in elements:
        entries = _entries(element, env=env, arch=arch)
        for phase in dict.fromkeys(e.phase for e in entries):
            for kind in _KINDS:
                names = [e.package for e in entries if e.phase == phase and e.kind == kind]
                if not names:
                    continue
                mapped = pkg_map(
                    element, names, distro=distro, family=family, release=release, missing_ok=True
                )
                lists.setdefault(phase, {k: {} for k in _KINDS})[kind].update(dict.fromkeys(mapped))
    return {
        phase: PhasePackages(*(tuple(lists[phase][k]) for k in _KINDS))
        for phase in sorted(lists, key=_phase_order)
    }
