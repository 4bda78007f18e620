"""Small DIB-format elements made in a temporary directory, for the tests of dibdo.elements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from dibdo.elements.discover import Element


def make_element(
    root: Path,
    name: str,
    *,
    deps: Iterable[str] = (),
    provides: Iterable[str] = (),
    files: Mapping[str, str] | None = None,
    scripts: Mapping[str, str] | None = None,
) -> Element:
    """Create `root/name` with element-deps, element-provides, plain `files` and `scripts`.

    `files` and `scripts` map a path inside the element to its text; scripts are made
    executable (mode 0755), files are not (0644).
    """
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    if deps:
        (path / "element-deps").write_text("".join(f"{d}\n" for d in deps))
    if provides:
        (path / "element-provides").write_text("".join(f"{p}\n" for p in provides))
    for rel, text in (files or {}).items():
        _write(path / rel, text, 0o644)
    for rel, text in (scripts or {}).items():
        _write(path / rel, text, 0o755)
    return Element(name, path)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def library(root: Path) -> Path:
    """A minimal element library: `base`, an OS element `debian-minimal`, `vm`, block devices."""
    make_element(root, "base")
    make_element(root, "debian-minimal", provides=["operating-system"])
    make_element(root, "ubuntu-minimal", provides=["operating-system"])
    make_element(root, "vm")
    make_element(root, "block-device-mbr", deps=["vm"])
    make_element(root, "block-device-efi", deps=["vm"])
    make_element(root, "block-device-gpt", deps=["vm"])
    return root
