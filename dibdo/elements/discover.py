"""Finding elements on the search path, and reading what one element declares.

An element is a directory in one of the search-path entries: `ELEMENTS_PATH` entries
first (first match wins, as in DIB), the project's own `elements/` last. `Element` is a
name and the directory it was found in; its `deps` and `provides` are read from the
`element-deps` and `element-provides` files each time they are asked for (the files are
a few lines). Nothing here holds a resource.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dibdo.errors import ConfigError


def search_path(elements_path: str | None, project_elements: Path) -> tuple[Path, ...]:
    """The directories searched for elements, in order: `elements_path` entries, then ours.

    Empty entries (`a::b`, a trailing colon) are skipped and a directory listed twice is
    kept at its first place. An `ELEMENTS_PATH` entry that is not a directory is an error,
    as in DIB: a typo there would otherwise silently pick an element from further down.
    """
    dirs: list[Path] = []
    for entry in (elements_path or "").split(":"):
        if not entry:
            continue
        directory = Path(entry)
        if not directory.is_dir():
            raise ConfigError(
                f"ELEMENTS_PATH entry {os.fspath(directory)} is not a directory",
                hint="fix ELEMENTS_PATH (a colon-separated list of element directories)",
            )
        dirs.append(directory)
    dirs.append(project_elements)
    return tuple(dict.fromkeys(dirs))


def _read_names(path: Path) -> tuple[str, ...]:
    """Element names listed in `path`, one a line: `#` starts a comment, blanks are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {os.fspath(path)}: {exc}") from exc
    names = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(dict.fromkeys(name for name in names if name))


@dataclass(frozen=True)
class Element:
    """One element: its name and the directory it was found in."""

    name: str
    path: Path

    @property
    def deps(self) -> tuple[str, ...]:
        """The names in `element-deps` (elements, or virtual names another element provides)."""
        return _read_names(self.path / "element-deps")

    @property
    def provides(self) -> tuple[str, ...]:
        """The names in `element-provides` (virtual names such as `operating-system`)."""
        return _read_names(self.path / "element-provides")


def lookup(name: str, path: Sequence[Path]) -> Element | None:
    """The first element called `name` on `path`, or None (also for a name that is a path)."""
    if not name or "/" in name or name in (".", ".."):
        return None
    for directory in path:
        candidate = directory / name
        if candidate.is_dir():
            return Element(name, candidate)
    return None


def not_found(name: str, path: Sequence[Path], *, wanted_by: str | None) -> ConfigError:
    """The error for an element missing from every directory of `path`."""
    who = f"element {wanted_by!r} depends on it" if wanted_by else "it was asked for"
    searched = ", ".join(os.fspath(d) for d in path) or "(no directories)"
    return ConfigError(
        f"element {name!r} not found ({who}); searched: {searched}",
        hint="check the spelling, or add the directory holding it to ELEMENTS_PATH",
    )


def find(name: str, path: Sequence[Path], *, wanted_by: str | None) -> Element:
    """The first element called `name` on `path`; ConfigError naming who wanted it if none."""
    element = lookup(name, path)
    if element is None:
        raise not_found(name, path, wanted_by=wanted_by)
    return element
