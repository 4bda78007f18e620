"""Tests for dibdo.elements.packages: package-installs keys and pkg-map, as DIB documents them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from elements_fixtures import make_element

from dibdo.elements.discover import Element
from dibdo.elements.packages import PhasePackages, package_installs
from dibdo.errors import ConfigError

DEBIAN = {"distro": "debian", "family": "debian", "release": "bookworm"}


def _installs(
    elements: list[Element], env: Mapping[str, str] | None = None, arch: str = "amd64"
) -> dict[str, PhasePackages]:
    return package_installs(elements, env=env or {}, arch=arch, **DEBIAN)


def _yaml(tmp_path: Path, text: str, name: str = "e") -> Element:
    return make_element(tmp_path, name, files={"package-installs.yaml": text})


def test_bare_names_go_to_install_d(tmp_path: Path) -> None:
    result = _installs([_yaml(tmp_path, "libxml2:\nvim: {}\n")])
    assert result == {"install.d": PhasePackages(install=("libxml2", "vim"))}


def test_phase_uninstall_and_build_only(tmp_path: Path) -> None:
    e = _yaml(
        tmp_path,
        "grub2: {phase: pre-install.d}\nnm: {uninstall: true}\n"
        "libssl-dev: {build-only: true}\nkept: {uninstall: false}\n",
    )
    result = _installs([e])
    assert list(result) == ["pre-install.d", "install.d"]
    assert result["pre-install.d"] == PhasePackages(install=("grub2",))
    assert result["install.d"] == PhasePackages(
        install=("kept",), uninstall=("nm",), build_only=("libssl-dev",)
    )


def test_arch_and_not_arch_are_comma_lists(tmp_path: Path) -> None:
    e = _yaml(
        tmp_path,
        "linux-image-amd64: {arch: amd64}\ndmidecode: {not-arch: 'ppc64, ppc64le'}\n"
        "lshw: {arch: 'ppc64, ppc64le'}\n",
    )
    assert _installs([e])["install.d"].install == ("linux-image-amd64", "dmidecode")
    assert _installs([e], arch="ppc64le")["install.d"].install == ("lshw",)


def test_arch_and_not_arch_together_is_an_error(tmp_path: Path) -> None:
    e = _yaml(tmp_path, "x: {arch: amd64, not-arch: arm64}\n")
    with pytest.raises(ConfigError, match="arch and not-arch"):
        _installs([e])


def test_when_equal_and_not_equal(tmp_path: Path) -> None:
    e = _yaml(tmp_path, "a: {when: DIB_USE_A = 1}\nb: {when: DIB_USE_A != 1}\n")
    assert _installs([e], {"DIB_USE_A": "1"})["install.d"].install == ("a",)
    assert _installs([e], {"DIB_USE_A": "0"})["install.d"].install == ("b",)


def test_when_list_means_all_must_hold(tmp_path: Path) -> None:
    e = _yaml(tmp_path, "a:\n  when:\n    - X=1\n    - Y!=2\n")
    assert _installs([e], {"X": "1", "Y": "3"})["install.d"].install == ("a",)
    assert _installs([e], {"X": "1", "Y": "2"}) == {}


def test_when_on_an_unset_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DIB_NOPE is not set"):
        _installs([_yaml(tmp_path, "a: {when: DIB_NOPE = 1}\n")])


def test_malformed_when_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bad when"):
        _installs([_yaml(tmp_path, "a: {when: just words}\n")])


def test_installtype_follows_the_element_then_the_default(tmp_path: Path) -> None:
    e = _yaml(tmp_path, "src-pkg: {installtype: source}\npkg: {installtype: package}\n", "my-el")
    assert _installs([e])["install.d"].install == ("src-pkg",)
    assert _installs([e], {"DIB_DEFAULT_INSTALLTYPE": "package"})["install.d"].install == ("pkg",)
    env = {"DIB_DEFAULT_INSTALLTYPE": "source", "DIB_INSTALLTYPE_my_el": "package"}
    assert _installs([e], env)["install.d"].install == ("pkg",)


def test_dib_python_version_must_match(tmp_path: Path) -> None:
    e = _yaml(
        tmp_path, "python-dev: {dib_python_version: 2}\npython3-dev: {dib_python_version: 3}\n"
    )
    assert _installs([e], {"DIB_PYTHON_VERSION": "3"})["install.d"].install == ("python3-dev",)
    assert _installs([e]) == {}


def test_json_and_yaml_files_are_both_read(tmp_path: Path) -> None:
    files = {
        "package-installs.json": json.dumps({"libxml2": None, "nm": {"uninstall": True}}),
        "package-installs.yaml": "vim:\n",
    }
    e = make_element(tmp_path, "e", files=files)
    assert _installs([e])["install.d"] == PhasePackages(
        install=("libxml2", "vim"), uninstall=("nm",)
    )


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    e = _yaml(tmp_path, "a:\nb:\n  phase: [unclosed\nc:\n")
    with pytest.raises(ConfigError, match=r"package-installs\.yaml:\d+: bad YAML"):
        _installs([e])


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    e = make_element(tmp_path, "e", files={"package-installs.json": '{\n"a": null\n"b": null}\n'})
    with pytest.raises(ConfigError, match=r"package-installs\.json:3: bad JSON"):
        _installs([e])


def test_options_that_are_not_a_mapping_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a mapping"):
        _installs([_yaml(tmp_path, "a: [1, 2]\n")])


def test_packages_keep_element_order_and_appear_once(tmp_path: Path) -> None:
    a = _yaml(tmp_path, "curl:\nvim:\n", "a")
    b = _yaml(tmp_path, "vim:\ngit:\n", "b")
    assert _installs([a, b])["install.d"].install == ("curl", "vim", "git")
