"""Upstream connections: where a host name leads, whether the proxy may go there, and a
requests Session whose every connection (redirects included) is opened by the `Dialer`.

The proxy is not an open relay into the network it runs in: a target that resolves to a
loopback, link-local, private (RFC 1918, IPv6 unique-local), multicast or unspecified address
is refused unless `allow_private` is set. The check runs on the addresses actually dialled,
so a name that resolves differently later (DNS rebinding) or a redirect is caught too.
`resolve` overrides map a host to "ip:port"; they are the operator's (or a test's) own
choice, so they skip the check (tests point them at a closed port to cut upstream off).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from dibdo import __version__
from dibdo.proxy.rules import parse_authority

_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    )
)  # fmt: skip

USER_AGENT = f"dibdo-proxy/{__version__}"


class Refused(OSError):
    """The proxy will not connect to this target (a loopback/private address)."""


def is_blocked(address: str) -> bool:
    """True for loopback, link-local, private, multicast and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in _BLOCKED)


@dataclass(frozen=True)
class Dialer:
    """Resolves, checks and connects to upstream hosts."""

    allow_private: bool = False
    resolve: Mapping[str, str] = field(default_factory=dict)

    def addresses(self, host: str, port: int) -> list[tuple[str, int]]:
        """Where (host, port) leads; raises Refused, or OSError when the name does not resolve."""
        override = self.resolve.get(host.lower())
        if override is not None:
            return [parse_authority(override, default_port=port)]
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found = [(str(info[4][0]), port) for info in infos]
        blocked = [ip for ip, _ in found if is_blocked(ip)]
        if blocked and not self.allow_private:
            raise Refused(
                f"refusing to proxy to {host} ({blocked[0]}): a loopback, link-local or "
                "private address (allow_private lifts this for trusted setups)"
            )
        return found

    def check(self, host: str, port: int) -> None:
        """Raise Refused for a forbidden target; a name that does not resolve passes (the fetch
        then fails like any unreachable upstream and the cache answers)."""
        try:
            self.addresses(host, port)
        except Refused:
            raise
        except OSError:
            pass

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """A connected TCP socket to (host, port), trying each address in turn."""
        error: OSError = OSError(f"no address for {host}")
        for address in self.addresses(host, port):
            try:
                sock = socket.create_connection(address, timeout=timeout)
            except OSError as exc:
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        raise error


def session(dialer: Dialer, *, via: str, pool_size: int = 16) -> requests.Session:
    """A plain requests Session for upstream fetches (see `mount`)."""
    s = requests.Session()
    mount(s, dialer, via=via, pool_size=pool_size)
    return s


def mount(s: requests.Session, dialer: Dialer, *, via: str, pool_size: int = 16) -> None:
    """Route `s` through `dialer`, ask for bodies as stored (no Content-Encoding), tag it `via`."""
    # never through $http_proxy: that may well be this very proxy
    s.trust_env = False
    s.verify = system_ca()
    s.headers.update({"Accept-Encoding": "identity", "User-Agent": USER_AGENT, "Via": via})
    for scheme in ("http://", "https://"):
        s.mount(scheme, _DialingAdapter(dialer, pool_size))


def system_ca() -> str | bool:
    """The host's CA bundle, as apt uses it (it may hold a site's own CA), else certifi's."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.capath):
        if candidate and os.path.exists(candidate):
            return candidate
    return True


class _DialingAdapter(HTTPAdapter):
    def __init__(self, dialer: Dialer, pool_size: int) -> None:
        self._dialer = dialer  # before super().__init__, which builds the pool manager
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)  # type: ignore[no-untyped-call]
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._dialer)


def _pool_classes(dialer: Dialer) -> dict[str, type[HTTPConnectionPool]]:
    class Conn(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return _open(dialer, self)

    class TlsConn(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return _open(dialer, self)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TlsPool(HTTPSConnectionPool):
        ConnectionCls = TlsConn

    return {"http": Pool, "https": TlsPool}


def _open(dialer: Dialer, conn: HTTPConnection) -> socket.socket:
    try:
        return dialer.connect(conn.host, conn.port, conn.timeout)
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
