"""Tests for dibdo.elements.show: the text of `dibdo elements` and `dibdo elements --hooks`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from elements_fixtures import library, make_element

from dibdo.elements.expand import ElementSet, expand
from dibdo.elements.show import format_expansion, format_hooks


@pytest.fixture
def es(tmp_path: Path) -> ElementSet:
    lib = library(tmp_path / "lib")
    make_element(lib, "web", deps=["nginx"], scripts={"install.d/50-web": ""})
    make_element(
        lib,
        "nginx",
        scripts={"install.d/10-nginx": "", "root.d/05-x": ""},
        files={"environment.d/10-nginx.bash": ""},
    )
    return expand(["debian-minimal", "web"], path=(lib,))


def _line(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(name + " "))


def _why(text: str, name: str) -> str:
    return re.split(r"\s{2,}", _line(text, name))[1]


def test_expansion_marks_requested_dependency_default_and_provides(es: ElementSet) -> None:
    text = format_expansion(es)
    assert _why(text, "web") == "requested"
    assert _why(text, "nginx") == "dependency of web"
    assert _why(text, "base") == "default"
    assert _why(text, "debian-minimal") == "requested; provides operating-system"


def test_expansion_shows_where_each_element_came_from(es: ElementSet) -> None:
    text = format_expansion(es)
    assert _line(text, "nginx").endswith(str(es.get("nginx").path))
    assert len(text.splitlines()) == 1 + len(es.elements)


def test_hooks_list_each_phase_in_merged_order_with_elements(es: ElementSet) -> None:
    lines = format_hooks(es).splitlines()
    assert lines[0].startswith("environment.d")
    install = lines.index("install.d:")
    assert lines[install + 1].split() == ["10-nginx", "nginx"]
    assert lines[install + 2].split() == ["50-web", "web"]
    assert lines.index("root.d:") < install


def test_hooks_of_elements_without_scripts(tmp_path: Path) -> None:
    lib = library(tmp_path)
    assert format_hooks(expand(["debian-minimal"], path=(lib,))) == "no hook scripts\n"
