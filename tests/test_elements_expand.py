"""Tests for dibdo.elements.expand: DIB's dependency expansion rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from elements_fixtures import library, make_element

from dibdo.elements.expand import expand
from dibdo.errors import ConfigError


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    return library(tmp_path / "lib")


def test_acceptance_cycle_is_tolerated(lib: Path) -> None:
    make_element(lib, "a", deps=["b"])
    make_element(lib, "b", deps=["a", "c"])
    make_element(lib, "c", deps=["b"])
    es = expand(["debian-minimal", "a"], path=(lib,))
    assert es.names == ("a", "b", "base", "c", "debian-minimal")
    assert es.provides == {"operating-system": "debian-minimal"}


def test_acceptance_missing_deep_dep_names_it_and_who_wanted_it(lib: Path) -> None:
    make_element(lib, "a", deps=["b"])
    make_element(lib, "b", deps=["a", "c"])
    make_element(lib, "c", deps=["b", "ghost-dep-q"])
    with pytest.raises(ConfigError) as info:
        expand(["debian-minimal", "a"], path=(lib,))
    assert "'ghost-dep-q'" in info.value.message
    assert "'c'" in info.value.message
    assert str(lib) in info.value.message


def test_base_is_added_unless_skipped(lib: Path) -> None:
    assert "base" in expand(["debian-minimal"], path=(lib,)).names
    es = expand(["debian-minimal"], path=(lib,), add_base=False)
    assert es.names == ("debian-minimal",)
    assert es.added == ()


def test_elements_are_sorted_by_name_and_record_requests(lib: Path) -> None:
    make_element(lib, "zeta", deps=["alpha"])
    make_element(lib, "alpha")
    es = expand(["zeta", "debian-minimal"], path=(lib,))
    assert es.names == ("alpha", "base", "debian-minimal", "zeta")
    assert es.requested == ("zeta", "debian-minimal")
    assert es.added == ("base",)
    assert es.wanted_by["alpha"] == ("zeta",)


def test_first_directory_on_the_path_wins(lib: Path, tmp_path: Path) -> None:
    override = make_element(tmp_path / "mine", "vm")
    es = expand(["debian-minimal", "vm", "block-device-mbr"], path=(tmp_path / "mine", lib))
    assert es.get("vm") == override


def test_no_operating_system_is_an_error(lib: Path) -> None:
    with pytest.raises(ConfigError, match="operating-system"):
        expand(["vm"], path=(lib,))


def test_two_operating_systems_are_an_error_naming_both(lib: Path) -> None:
    with pytest.raises(ConfigError) as info:
        expand(["debian-minimal", "ubuntu-minimal"], path=(lib,))
    assert "'debian-minimal'" in info.value.message
    assert "'ubuntu-minimal'" in info.value.message


def test_two_elements_providing_the_same_name_is_an_error(lib: Path) -> None:
    make_element(lib, "cron-a", provides=["cron"])
    make_element(lib, "cron-b", provides=["cron"])
    with pytest.raises(ConfigError, match="'cron-a' and 'cron-b' both provide 'cron'"):
        expand(["debian-minimal", "cron-a", "cron-b"], path=(lib,))


def test_asking_for_an_element_another_provides_is_an_error(lib: Path) -> None:
    make_element(lib, "dhcp")
    make_element(lib, "dhcp-better", provides=["dhcp"])
    with pytest.raises(ConfigError, match="'dhcp' was asked for, but element 'dhcp-better'"):
        expand(["debian-minimal", "dhcp", "dhcp-better"], path=(lib,))


def test_dep_provided_by_another_element_is_not_looked_up(lib: Path) -> None:
    # `needs-dhcp` is met before `dhcp-better` in the walk: the result must not depend on it.
    make_element(lib, "needs-dhcp", deps=["dhcp"])
    make_element(lib, "dhcp", deps=["dhcp-only-dep"])
    make_element(lib, "dhcp-only-dep")
    make_element(lib, "dhcp-better", provides=["dhcp"])
    make_element(lib, "wrapper", deps=["dhcp-better"])
    es = expand(["debian-minimal", "needs-dhcp", "wrapper"], path=(lib,))
    assert "dhcp" not in es.names and "dhcp-only-dep" not in es.names
    assert es.provides["dhcp"] == "dhcp-better"


def test_virtual_dep_needs_no_directory(lib: Path) -> None:
    make_element(lib, "needs-os", deps=["operating-system"])
    es = expand(["needs-os", "debian-minimal"], path=(lib,))
    assert "operating-system" not in es.names


def test_vm_without_block_device_gets_mbr(lib: Path) -> None:
    es = expand(["debian-minimal", "vm"], path=(lib,))
    assert "block-device-mbr" in es.names
    assert es.added == ("base", "block-device-mbr")


def test_vm_on_arm64_gets_efi(lib: Path) -> None:
    es = expand(["debian-minimal", "vm"], path=(lib,), arch="arm64")
    assert "block-device-efi" in es.names and "block-device-mbr" not in es.names


def test_vm_with_a_block_device_element_gets_no_default(lib: Path) -> None:
    es = expand(["debian-minimal", "vm", "block-device-gpt"], path=(lib,))
    assert [n for n in es.names if n.startswith("block-device-")] == ["block-device-gpt"]


def test_vm_with_a_block_device_provider_gets_no_default(lib: Path) -> None:
    make_element(lib, "my-disk", deps=["vm"], provides=["block-device-custom"])
    es = expand(["debian-minimal", "my-disk"], path=(lib,))
    assert not any(n.startswith("block-device-") for n in es.names)


def test_no_vm_means_no_block_device_default(lib: Path) -> None:
    es = expand(["debian-minimal"], path=(lib,))
    assert not any(n.startswith("block-device-") for n in es.names)


def test_no_elements_is_an_error(lib: Path) -> None:
    with pytest.raises(ConfigError, match="no elements"):
        expand([], path=(lib,))
