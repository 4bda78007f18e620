"""URL parsing and classification for the proxy, byte ranges, and the relay policy."""

from __future__ import annotations

import pytest

from dibdo.proxy._dial import Dialer, Refused, is_blocked
from dibdo.proxy._exchange import parse_range
from dibdo.proxy.rules import BadTarget, Kind, Target, classify, parse_target

POOL = "/debian/pool/main/a/apt/apt_2.6.1_amd64.deb"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("http://archive.test" + POOL, Target("http", "archive.test", 80, POOL)),
        ("http://Archive.Test:8080/x?y=1", Target("http", "archive.test", 8080, "/x?y=1")),
        ("http://HTTPS///archive.test" + POOL, Target("https", "archive.test", 443, POOL)),
        ("http://https///archive.test:8443/x", Target("https", "archive.test", 8443, "/x")),
        ("/archive.test" + POOL, Target("http", "archive.test", 80, POOL)),
        ("/HTTPS///archive.test/x", Target("https", "archive.test", 443, "/x")),
        ("http://[::1]:81/x", Target("http", "::1", 81, "/x")),
    ],
)
def test_parse_target_reads_every_request_form(target: str, expected: Target) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize(
    "target", ["ftp://archive.test/x", "http://user:pw@archive.test/x", "/favicon", "http:///x"]
)
def test_parse_target_rejects_what_it_cannot_forward(target: str) -> None:
    with pytest.raises(BadTarget):
        parse_target(target)


def test_https_form_keeps_the_archive_path_as_key() -> None:
    plain = parse_target("http://archive.test" + POOL)
    tls = parse_target("http://HTTPS///mirror.test" + POOL)
    assert plain.key == tls.key == POOL
    assert tls.url == "https://mirror.test" + POOL


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (POOL, Kind.IMMUTABLE),
        ("/debian/pool/main/a/apt/apt_2.6.1.dsc", Kind.IMMUTABLE),
        ("/ubuntu/dists/noble/main/binary-amd64/by-hash/SHA256/ab12", Kind.IMMUTABLE),
        ("/fedora/Packages/b/bash-5.2-1.fc40.x86_64.rpm", Kind.IMMUTABLE),
        ("/fedora/repodata/" + "a" * 64 + "-primary.xml.zst", Kind.IMMUTABLE),
        ("/fedora/repodata/repomd.xml", Kind.INDEX),
        ("/debian/dists/bookworm/InRelease", Kind.INDEX),
        ("/debian/dists/bookworm/main/binary-amd64/Packages.xz", Kind.INDEX),
        ("/debian/dists/bookworm/main/i18n/Translation-en.bz2", Kind.INDEX),
    ],
)
def test_classify_separates_immutable_bodies_from_indexes(path: str, kind: Kind) -> None:
    assert classify(path) is kind


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=x-5", None),
        ("bytes=-", None),
    ],
)
def test_parse_range_reads_one_byte_range(spec: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(spec, 1000) == expected


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True),
        ("169.254.169.254", True), ("::1", True), ("fe80::1%eth0", True), ("fd00::1", True),
        ("::ffff:127.0.0.1", True), ("0.0.0.0", True),
        ("203.0.113.80", False), ("8.8.8.8", False), ("2001:db8::1", False),
    ],
)  # fmt: skip
def test_is_blocked_covers_loopback_link_local_and_private(address: str, blocked: bool) -> None:
    assert is_blocked(address) is blocked


def test_dialer_refuses_a_name_resolving_to_loopback_unless_allowed() -> None:
    with pytest.raises(Refused):
        Dialer().check("localhost", 80)
    Dialer(allow_private=True).check("localhost", 80)
    Dialer(resolve={"archive.test": "127.0.0.1:9"}).check("archive.test", 80)
