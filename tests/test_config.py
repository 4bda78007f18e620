"""The settings table: environment, flags, defaults and errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dibdo import config as cfg
from dibdo.errors import ConfigError


def parse(argv: list[str], env: dict[str, str]) -> cfg.Config:
    parser = argparse.ArgumentParser()
    cfg.add_arguments(parser)
    return cfg.load(parser.parse_args(argv), environ=env)


@pytest.mark.parametrize(
    "argv,env,field,expected",
    [
        ([], {}, "release", "bookworm"),
        ([], {"DIB_RELEASE": "trixie"}, "release", "trixie"),
        (["--release", "sid"], {"DIB_RELEASE": "trixie"}, "release", "sid"),
        (["-t", "qcow2,raw"], {}, "formats", ("qcow2", "raw")),
        (["-p", "lvm2,xfsprogs"], {}, "packages", ("lvm2", "xfsprogs")),
        (["--cache-size", "2G"], {}, "cache_size", 2 * 2**30),
        (["--cache-dir", "/x"], {"DIBDO_CACHE_DIR": "/y"}, "cache_dir", Path("/x")),
        ([], {"DIBDO_CACHE_DIR": "/y"}, "cache_dir", Path("/y")),
        (["-n"], {}, "no_base", True),
    ],
)
def test_setting_sources_and_precedence(
    argv: list[str], env: dict[str, str], field: str, expected: object
) -> None:
    assert getattr(parse(argv, env), field) == expected


def test_dib_variables_reach_elements() -> None:
    conf = parse([], {"DIB_FOO": "1", "OTHER": "2"})
    assert conf.dib_env == {"DIB_FOO": "1"}


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DIBDO_CACHE_SIZE"):
        parse([], {"DIBDO_CACHE_SIZE": "lots"})


def test_default_mirror_comes_from_debootstrap(tmp_path: Path) -> None:
    script = tmp_path / "debootstrap"
    script.write_text('#!/bin/sh\nDEF_MIRROR="http://mirror.example/debian"\n')
    assert cfg.default_mirror(script) == "http://mirror.example/debian"
    assert cfg.security_mirror_for("http://mirror.example/debian") == (
        "http://mirror.example/debian-security"
    )
