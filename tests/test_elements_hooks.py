"""Tests for dibdo.elements.hooks: merged dib-run-parts order, runs, environment.d."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from elements_fixtures import make_element

from dibdo.elements.hooks import (
    PHASES,
    Hook,
    environment_files,
    hook_runs,
    merged_hooks,
    run_parts_key,
)
from dibdo.errors import ConfigError
from dibdo.run import output


def _names(hooks: tuple[Hook, ...]) -> list[str]:
    return [h.name for h in hooks]


def test_phases_are_dibs_in_order() -> None:
    assert PHASES[0] == "root.d" and PHASES[-1] == "cleanup.d"
    assert PHASES.index("pre-install.d") < PHASES.index("install.d")
    assert PHASES.index("post-install.d") < PHASES.index("post-root.d")
    assert PHASES.index("block-device.d") < PHASES.index("pre-finalise.d")
    assert PHASES.index("pre-finalise.d") < PHASES.index("finalise.d")
    assert len(PHASES) == 10


def test_scripts_of_all_elements_merge_by_number(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", scripts={"install.d/50-b": "", "install.d/05-z": ""})
    b = make_element(tmp_path, "b", scripts={"install.d/10-a": ""})
    hooks = merged_hooks([a, b], "install.d")
    assert _names(hooks) == ["05-z", "10-a", "50-b"]
    assert [h.element.name for h in hooks] == ["a", "b", "a"]
    assert hooks[1].path == b.path / "install.d" / "10-a"


def test_sort_is_numeric_not_lexical(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", scripts={"install.d/10-a": "", "install.d/9-b": ""})
    assert _names(merged_hooks([a], "install.d")) == ["9-b", "10-a"]


def test_equal_numbers_and_no_number_sort_by_bytes() -> None:
    names = ["5-b", "05-a", "foo", "Z", "0-x", "-1-neg", "_u"]
    assert sorted(names, key=run_parts_key) == ["-1-neg", "0-x", "Z", "_u", "foo", "05-a", "5-b"]


def test_sort_matches_c_locale_sort_n() -> None:
    names = [
        "10-a",
        "9-b",
        "007-c",
        "-0-z",
        "-12-m",
        "a-1",
        "B2",
        "00",
        "1",
        "99999999999999999999-big",
    ]
    lines = output(["sort", "-n"], input="\n".join(names).encode(), env={"LC_ALL": "C"})
    assert sorted(names, key=run_parts_key) == lines.splitlines()


def test_names_with_dots_and_non_executables_are_skipped(tmp_path: Path) -> None:
    a = make_element(
        tmp_path,
        "a",
        scripts={"install.d/10-ok": "", "install.d/20-x.sh": "", "install.d/30-x~y": ""},
        files={"install.d/40-plain": "", "install.d/README": ""},
    )
    (a.path / "install.d" / "50-dir").mkdir()
    assert _names(merged_hooks([a], "install.d")) == ["10-ok"]


def test_symlinked_script_counts_and_broken_link_does_not(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", scripts={"real/s": ""}, files={})
    (a.path / "install.d").mkdir()
    (a.path / "install.d" / "10-link").symlink_to(a.path / "real" / "s")
    (a.path / "install.d" / "20-broken").symlink_to(a.path / "nowhere")
    assert _names(merged_hooks([a], "install.d")) == ["10-link"]


def test_same_name_in_two_elements_names_both_and_the_phase(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", scripts={"install.d/10-x": ""})
    b = make_element(tmp_path, "b", files={"install.d/10-x": ""})
    with pytest.raises(ConfigError, match=r"install\.d/10-x .*'a'.*'b'"):
        merged_hooks([a, b], "install.d")


def test_same_name_in_different_phases_is_fine(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", scripts={"install.d/10-x": ""})
    b = make_element(tmp_path, "b", scripts={"finalise.d/10-x": ""})
    assert _names(merged_hooks([a, b], "install.d")) == ["10-x"]


def test_unknown_phase_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        merged_hooks([], "install")


def test_hook_runs_group_consecutive_scripts_of_one_element(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", scripts={"install.d/10-a": "", "install.d/20-a": ""})
    b = make_element(tmp_path, "b", scripts={"install.d/30-b": "", "install.d/40-b": ""})
    c = make_element(tmp_path, "c", scripts={"install.d/35-c": ""})
    runs = hook_runs(merged_hooks([a, b, c], "install.d"))
    assert [[h.name for h in run] for run in runs] == [
        ["10-a", "20-a"],
        ["30-b"],
        ["35-c"],
        ["40-b"],
    ]
    assert [run[0].element.name for run in runs] == ["a", "b", "c", "b"]


def test_hook_runs_of_nothing_is_empty() -> None:
    assert hook_runs(()) == ()


def test_environment_files_merge_in_byte_order(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", files={"environment.d/10-a.bash": "", "environment.d/9-a": ""})
    b = make_element(tmp_path, "b", files={"environment.d/02-b": "", "environment.d/bad name": ""})
    files = environment_files([a, b])
    assert [os.fspath(p.relative_to(tmp_path)) for p in files] == [
        "b/environment.d/02-b",
        "a/environment.d/10-a.bash",
        "a/environment.d/9-a",
    ]


def test_environment_file_in_two_elements_is_an_error(tmp_path: Path) -> None:
    a = make_element(tmp_path, "a", files={"environment.d/10-x": ""})
    b = make_element(tmp_path, "b", files={"environment.d/10-x": ""})
    with pytest.raises(ConfigError, match="environment.d/10-x"):
        environment_files([a, b])
