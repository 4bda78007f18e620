"""Tests for dibdo.elements.discover: the search path, element files, find()."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from elements_fixtures import make_element

from dibdo.elements.discover import Element, find, search_path
from dibdo.errors import ConfigError


def test_search_path_puts_elements_path_first_and_project_last(tmp_path: Path) -> None:
    a, b, ours = tmp_path / "a", tmp_path / "b", tmp_path / "ours"
    a.mkdir()
    b.mkdir()
    assert search_path(f"{a}:{b}", ours) == (a, b, ours)


def test_search_path_skips_empty_entries_and_repeats(tmp_path: Path) -> None:
    a, ours = tmp_path / "a", tmp_path / "ours"
    a.mkdir()
    ours.mkdir()
    assert search_path(f":{a}::{a}:{ours}:", ours) == (a, ours)


def test_search_path_without_elements_path_is_the_project_only(tmp_path: Path) -> None:
    assert search_path(None, tmp_path) == (tmp_path,)
    assert search_path("", tmp_path) == (tmp_path,)


def test_search_path_rejects_an_entry_that_is_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="typo"):
        search_path(os.fspath(tmp_path / "typo"), tmp_path)


def test_find_takes_the_first_match_on_the_path(tmp_path: Path) -> None:
    first = make_element(tmp_path / "one", "web")
    make_element(tmp_path / "two", "web")
    assert find("web", (tmp_path / "one", tmp_path / "two"), wanted_by=None) == first


def test_find_error_names_element_wanter_and_every_directory(tmp_path: Path) -> None:
    dirs = (tmp_path / "one", tmp_path / "two")
    with pytest.raises(ConfigError) as info:
        find("ghost", dirs, wanted_by="c")
    message = info.value.message
    assert "'ghost'" in message and "'c'" in message
    assert all(os.fspath(d) in message for d in dirs)


def test_find_does_not_treat_a_path_as_an_element_name(tmp_path: Path) -> None:
    make_element(tmp_path / "x", "inner")
    with pytest.raises(ConfigError):
        find("x/inner", (tmp_path,), wanted_by=None)
    with pytest.raises(ConfigError):
        find("..", (tmp_path / "x",), wanted_by=None)


def test_deps_and_provides_skip_comments_blanks_and_repeats(tmp_path: Path) -> None:
    element = make_element(tmp_path, "e")
    (element.path / "element-deps").write_text("# comment\n\n  a  \nb # why\na\n")
    (element.path / "element-provides").write_text("operating-system\n")
    assert element.deps == ("a", "b")
    assert element.provides == ("operating-system",)


def test_element_without_files_has_no_deps_or_provides(tmp_path: Path) -> None:
    element = make_element(tmp_path, "e")
    assert element.deps == () and element.provides == ()


def test_element_is_immutable(tmp_path: Path) -> None:
    element = Element("e", tmp_path)
    with pytest.raises(AttributeError):
        element.name = "f"  # type: ignore[misc]
