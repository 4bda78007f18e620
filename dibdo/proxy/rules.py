"""What a proxy request points at, and how the proxy caches it.

`parse_target()` turns a request target into a `Target` (the upstream URL):

- absolute form, as sent to a proxy: `GET http://host/path`;
- apt-cacher-ng's HTTPS form: `http://HTTPS///host/path` fetches `https://host/path` (and caches
  it: apt talks plain HTTP to the proxy, the proxy talks TLS upstream);
- origin form, when a client uses the proxy as its mirror: `/host/path`, `/HTTPS///host/path`.

`classify()` sorts paths: package bodies and `by-hash/` files never change at a given path, so
they are `IMMUTABLE` (stored once, by content, keyed by the archive path without the host, so
every mirror of an archive shares them); everything else (`InRelease`, `Packages*`,
`repomd.xml`, ...) is an `INDEX`, revalidated with conditional GETs.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from dibdo.errors import DibdoError

_PACKAGE_SUFFIXES = (".deb", ".udeb", ".ddeb", ".rpm", ".drpm", ".dsc")
# rpm repodata files other than repomd.xml are named after their own checksum
_HASHED_REPODATA = re.compile(r"/repodata/[0-9a-f]{40,128}-[^/]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadTarget(DibdoError):
    """A request target the proxy cannot forward (not http/https, no host, credentials)."""


class Kind(enum.Enum):
    """How the proxy caches a path."""

    IMMUTABLE = "immutable"  # the body at this path never changes: content-addressed store
    INDEX = "index"  # may change: requests-cache, revalidated after the index window


@dataclass(frozen=True)
class Target:
    """One upstream resource: where to fetch it, and under which key to cache it."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, always starting with "/"

    @property
    def url(self) -> str:
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != _DEFAULT_PORTS[self.scheme]:
            netloc = f"{netloc}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"

    @property
    def key(self) -> str:
        """The archive path: the same path on any mirror (or scheme) is the same object."""
        return self.path

    @property
    def kind(self) -> Kind:
        return classify(self.path)


def classify(path: str) -> Kind:
    """IMMUTABLE for package bodies, pool files and by-hash files; INDEX for the rest."""
    bare = path.split("?", 1)[0]
    if "/by-hash/" in bare or "/pool/" in bare or _HASHED_REPODATA.search(bare):
        return Kind.IMMUTABLE
    if bare.endswith(_PACKAGE_SUFFIXES):
        return Kind.IMMUTABLE
    return Kind.INDEX


def parse_target(target: str) -> Target:
    """The upstream Target of a request line's target; raises BadTarget."""
    if target.startswith("/"):
        return _origin_form(target)
    parts = urlsplit(target)
    if parts.scheme not in _DEFAULT_PORTS:
        raise BadTarget(f"not an http or https URL: {target}")
    if parts.username is not None or parts.password is not None:
        raise BadTarget(f"credentials in a proxied URL are not forwarded: {parts.hostname}")
    path = _path(parts)
    if (parts.hostname or "").upper() == "HTTPS":
        return _https_form(path)
    host, port = parse_authority(parts.netloc, default_port=_DEFAULT_PORTS[parts.scheme])
    return Target(parts.scheme, host, port, path)


def parse_authority(authority: str, *, default_port: int = 443) -> tuple[str, int]:
    """`host[:port]` (IPv6 in brackets) -> (lowercase host, port); raises BadTarget."""
    parts = urlsplit(f"//{authority}")
    try:
        port = parts.port
    except ValueError:
        raise BadTarget(f"bad port in {authority!r}") from None
    if not parts.hostname or parts.username is not None:
        raise BadTarget(f"no host name in {authority!r}")
    return parts.hostname.lower(), port or default_port


def _path(parts: SplitResult) -> str:
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _https_form(rest: str) -> Target:
    """`///host/path` after apt-cacher-ng's `HTTPS` marker -> https://host/path."""
    authority, _, path = rest.lstrip("/").partition("/")
    host, port = parse_authority(authority, default_port=443)
    return Target("https", host, port, "/" + path)


def _origin_form(target: str) -> Target:
    first, _, rest = target[1:].partition("/")
    if first.upper() == "HTTPS":
        return _https_form(rest)
    if "." not in first and ":" not in first:
        raise BadTarget(f"not a proxy request (no host in {target!r})")
    host, port = parse_authority(first, default_port=80)
    return Target("http", host, port, "/" + rest)
