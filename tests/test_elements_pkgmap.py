"""Tests for pkg-map (dibdo.elements.packages.pkg_map): sections and their precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elements_fixtures import make_element

from dibdo.elements.discover import Element
from dibdo.elements.packages import os_family, package_installs, pkg_map, pkg_map_table
from dibdo.errors import ConfigError

MAP = {
    "release": {"debian": {"bookworm": {"nova": "nova-bookworm"}}},
    "distro": {"debian": {"nova": "nova-debian", "glance": "glance-debian"}},
    "family": {"debian": {"nova": "nova-fam", "glance": "glance-fam", "keystone": "ks-fam"}},
    "default": {"nova": "n", "glance": "g", "keystone": "k", "swift": "s", "gone": ""},
}


def _element(tmp_path: Path, table: object = MAP, name: str = "e") -> Element:
    return make_element(tmp_path, name, files={"pkg-map": json.dumps(table)})


def _map(
    element: Element,
    names: list[str],
    *,
    distro: str = "debian",
    release: str = "bookworm",
    missing_ok: bool = False,
) -> tuple[str, ...]:
    family = os_family(distro)
    return pkg_map(
        element, names, distro=distro, family=family, release=release, missing_ok=missing_ok
    )


def test_release_beats_distro_beats_family_beats_default(tmp_path: Path) -> None:
    e = _element(tmp_path)
    names = ["nova", "glance", "keystone", "swift"]
    assert _map(e, names) == ("nova-bookworm", "glance-debian", "ks-fam", "s")


def test_release_applies_only_to_its_distro_and_release(tmp_path: Path) -> None:
    e = _element(tmp_path)
    assert _map(e, ["nova"], release="trixie") == ("nova-debian",)
    assert _map(e, ["nova"], distro="ubuntu", release="bookworm") == ("nova-fam",)
    assert _map(e, ["nova"], distro="fedora", release="bookworm") == ("n",)


def test_empty_mapping_drops_and_spaces_split(tmp_path: Path) -> None:
    e = _element(tmp_path, {"default": {"gone": "", "null": None, "two": "a  b"}})
    assert _map(e, ["gone", "null", "two"]) == ("a", "b")


def test_unmapped_name_passes_only_when_missing_ok(tmp_path: Path) -> None:
    e = _element(tmp_path)
    assert _map(e, ["other"], missing_ok=True) == ("other",)
    with pytest.raises(ConfigError, match="no mapping for package 'other'"):
        _map(e, ["other"])


def test_missing_pkg_map_file_passes_only_when_missing_ok(tmp_path: Path) -> None:
    e = make_element(tmp_path, "plain")
    assert _map(e, ["x"], missing_ok=True) == ("x",)
    with pytest.raises(ConfigError, match="no pkg-map"):
        _map(e, ["x"])


def test_bad_pkg_map_json_names_file_and_line(tmp_path: Path) -> None:
    e = make_element(tmp_path, "e", files={"pkg-map": '{\n  "default": {\n    "a": "b",\n  }\n}\n'})
    with pytest.raises(ConfigError, match=r"pkg-map:4: bad JSON"):
        _map(e, ["a"])


def test_section_that_is_not_an_object_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a JSON object"):
        _map(_element(tmp_path, {"distro": ["debian"]}), ["a"])


def test_os_family_groups_distributions() -> None:
    assert os_family("ubuntu") == "debian"
    assert os_family("centos") == "redhat"
    assert os_family("opensuse") == "suse"
    assert os_family("gentoo") == "gentoo"
    assert os_family("plan9") == ""


def test_package_installs_maps_with_each_elements_own_map(tmp_path: Path) -> None:
    a = make_element(
        tmp_path,
        "a",
        files={
            "package-installs.yaml": "web:\n",
            "pkg-map": json.dumps({"default": {"web": "nginx"}}),
        },
    )
    b = make_element(
        tmp_path, "b", files={"package-installs.yaml": "web:\nold: {uninstall: true}\n"}
    )
    result = package_installs(
        [a, b], env={}, distro="debian", family="debian", release="bookworm", arch="amd64"
    )
    assert result["install.d"].install == ("nginx", "web")
    assert result["install.d"].uninstall == ("old",)


def test_table_for_the_chroot_helper_applies_the_same_precedence(tmp_path: Path) -> None:
    element = _element(tmp_path)
    table = pkg_map_table(element, distro="debian", family="debian", release="bookworm")
    assert table["nova"] == ("nova-bookworm",) and table["glance"] == ("glance-debian",)
    assert table["keystone"] == ("ks-fam",) and table["swift"] == ("s",)
    assert table["gone"] == ()
    for name, mapped in table.items():
        assert mapped == _map(element, [name])
