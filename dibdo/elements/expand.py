"""Expanding the elements a user asked for into the set DIB would build with.

The rules are DIB's (`element-info` and `disk-image-create`):

- `base` is added unless `-n` (`add_base=False`); `vm` without a `block-device-*` element
  gets `block-device-mbr` (`block-device-efi` on arm64), as DIB's defaults do.
- `element-deps` are followed transitively; cycles are fine (each element is read once).
- A name in `element-deps` that another element of the set lists in `element-provides` is
  satisfied by that element and is not looked up.
- Exactly one element provides `operating-system`; two elements providing the same name is
  an error, and so is asking for an element that another element provides.

DIB walks its queue of names once and the outcome can depend on the order in which the
provider is met; we walk again with what the last walk found provided until nothing
changes, so the result does not depend on that order. Nothing here holds a resource.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dibdo.elements.discover import Element, lookup, not_found
from dibdo.errors import ConfigError

OPERATING_SYSTEM = "operating-system"
_MAX_WALKS = 8


@dataclass(frozen=True)
class ElementSet:
    """The expanded elements, sorted by name as DIB sorts them, and why each is there."""

    elements: tuple[Element, ...]
    requested: tuple[str, ...]
    provides: Mapping[str, str]
    added: tuple[str, ...] = ()
    wanted_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """The element names, in order."""
        return tuple(e.name for e in self.elements)

    def get(self, name: str) -> Element:
        """The element called `name`; KeyError if it is not in the set."""
        for element in self.elements:
            if element.name == name:
                return element
        raise KeyError(name)


@dataclass(frozen=True)
class _Walk:
    """One walk of element-deps: what was found, who wanted what, what was missing."""

    found: dict[str, Element]
    wanted_by: dict[str, list[str]]
    missing: dict[str, str | None]

    def provided(self) -> frozenset[str]:
        return frozenset(p for e in self.found.values() for p in e.provides if p != e.name)


def _walk(roots: Sequence[str], path: Sequence[Path], skip: frozenset[str]) -> _Walk:
    """Follow element-deps from `roots`; names in `skip` are provided, so not looked up."""
    walk = _Walk({}, {}, {})
    queue: deque[tuple[str, str | None]] = deque((name, None) for name in roots)
    while queue:
        name, by = queue.popleft()
        if by is not None and by not in walk.wanted_by.setdefault(name, []):
            walk.wanted_by[name].append(by)
        if name in walk.found or name in walk.missing or (by is not None and name in skip):
            continue
        element = lookup(name, path)
        if element is None:
            walk.missing[name] = by
            continue
        walk.found[name] = element
        queue.extend((dep, name) for dep in element.deps)
    return walk


def _settle(roots: Sequence[str], path: Sequence[Path]) -> _Walk:
    """Walk until the set of provided names no longer changes."""
    skip: frozenset[str] = frozenset()
    for _ in range(_MAX_WALKS):
        walk = _walk(roots, path, skip)
        if walk.provided() == skip:
            return walk
        skip = walk.provided()
    raise ConfigError(
        f"the element-deps and element-provides of {', '.join(roots)} contradict each other",
        hint="an element provides a name that only an element it replaces pulls in",
    )


def _block_device_default(walk: _Walk, arch: str) -> str | None:
    """DIB's default block-device element for `vm` when none is in the set."""
    if "vm" not in walk.found:
        return None
    if any(n.startswith("block-device-") for n in (*walk.found, *walk.provided())):
        return None
    return "block-device-efi" if arch in ("arm64", "aarch64") else "block-device-mbr"


def _providers(walk: _Walk) -> dict[str, str]:
    """Virtual name -> the one element providing it; an error if two provide the same."""
    provider: dict[str, str] = {}
    for name in sorted(walk.found):
        for virtual in walk.found[name].provides:
            if virtual == name:
                continue
            if virtual in provider:
                first = provider[virtual]
                raise ConfigError(
                    f"elements {first!r} and {name!r} both provide {virtual!r}",
                    hint=f"use only one of {first} and {name}",
                )
            provider[virtual] = name
    return provider


def _check(walk: _Walk, roots: Sequence[str], path: Sequence[Path]) -> dict[str, str]:
    """Raise the first error in the walk (missing, two providers, provided root, no OS)."""
    if walk.missing:
        name, by = next(iter(walk.missing.items()))
        raise not_found(name, path, wanted_by=by)
    provider = _providers(walk)
    for root in roots:
        if root in provider:
            raise ConfigError(
                f"element {root!r} was asked for, but element {provider[root]!r} provides it",
                hint=f"drop {root} from the element list",
            )
    if OPERATING_SYSTEM not in provider:
        raise ConfigError(
            f"no element provides {OPERATING_SYSTEM}",
            hint="add a distribution element such as debian-minimal or ubuntu-minimal",
        )
    return provider


def expand(
    names: Sequence[str],
    *,
    path: tuple[Path, ...],
    add_base: bool = True,
    arch: str = "amd64",
) -> ElementSet:
    """The full element set for the user's `names` searched on `path`, or a ConfigError."""
    requested = tuple(dict.fromkeys(names))
    if not requested:
        raise ConfigError("no elements given", hint="name at least a distribution element")
    added: tuple[str, ...] = ("base",) if add_base and "base" not in requested else ()
    walk = _settle(added + requested, path)
    default = _block_device_default(walk, arch)
    if default is not None:
        added += (default,)
        walk = _settle(added + requested, path)
    provider = _check(walk, added + requested, path)
    return ElementSet(
        elements=tuple(walk.found[n] for n in sorted(walk.found)),
        requested=requested,
        provides=dict(sorted(provider.items())),
        added=added,
        wanted_by={n: tuple(walk.wanted_by.get(n, ())) for n in sorted(walk.found)},
    )
