"""`ProxyServer`: the caching package proxy on a background thread, and `serve()` for
`dibdo proxy serve`.

    with ProxyServer(cache_dir) as proxy:   # bind, open the cache, serve on a thread
        env["http_proxy"] = proxy.url     # "http://127.0.0.1:PORT"
        proxy.stats()                     # counters since start (ProxyStats)
    # leaving the block stops accepting, cancels downloads, cuts open connections,
    # joins every thread and closes the cache, in that order

The cache directory layout is drawn in `objects.py` (bodies) and `index.py` (index files).
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import signal
import socket
import threading
import uuid
from collections.abc import Iterator, Mapping
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from dibdo import log
from dibdo.errors import ConfigError
from dibdo.proxy._context import Context
from dibdo.proxy._dial import Dialer, session
from dibdo.proxy._fetch import Downloads
from dibdo.proxy._handler import ProxyHandler
from dibdo.proxy.index import IndexCache
from dibdo.proxy.objects import ObjectStore
from dibdo.proxy.rules import BadTarget, parse_authority
from dibdo.proxy.stats import ProxyStats, StatsRecorder
from dibdo.run import retry

DEFAULT_SIZE_LIMIT = 20 * 2**30


class _HTTPServer(ThreadingHTTPServer):
    """Threads per connection, joined on close; open client sockets are tracked so that
    closing the server can cut idle keep-alive connections instead of waiting them out."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], context: Context) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.context = context
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        super().__init__(address, ProxyHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._clients_lock:
            self._clients.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._clients_lock:
            self._clients.discard(request)
        super().shutdown_request(request)

    def cut_clients(self) -> None:
        with self._clients_lock:
            clients = list(self._clients)
        for sock in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class ProxyServer:
    """The caching HTTP proxy, as a context manager (see the module docstring).

    `resolve` maps host names to "ip:port" for upstream connections (tests point an archive
    at a local server, or at a closed port to cut it off); it bypasses the private-address
    check, which `allow_private` lifts for everything.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        offline: bool = False,
        index_window: float = 86400.0,
        refresh: bool = False,
        allow_private: bool = False,
        size_limit: int = DEFAULT_SIZE_LIMIT,
        resolve: Mapping[str, str] | None = None,
    ) -> None:
        self.cache_dir = cache_dir
        self.listen = listen
        self.offline, self.index_window, self.refresh = offline, index_window, refresh
        self.size_limit = size_limit
        self.dialer = Dialer(allow_private, {k.lower(): v for k, v in (resolve or {}).items()})
        self._stack: contextlib.ExitStack | None = None
        self._httpd: _HTTPServer | None = None
        self._stats: StatsRecorder | None = None

    def __enter__(self) -> ProxyServer:
        with contextlib.ExitStack() as stack:
            self._httpd = self._start(stack)
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def _start(self, stack: contextlib.ExitStack) -> _HTTPServer:
        via = f"1.1 dibdo-{uuid.uuid4().hex[:12]}"
        store = stack.enter_context(ObjectStore(self.cache_dir, size_limit=self.size_limit))
        self._stats = stats = StatsRecorder(store.db)
        http = stack.enter_context(session(self.dialer, via=via))
        index = stack.enter_context(IndexCache(
            self.cache_dir, store.db, self.dialer, via=via, offline=self.offline,
            window=self.index_window, refresh=self.refresh,
        ))  # fmt: skip
        downloads = Downloads(store, http, stats)
        context = Context(store, downloads, index, stats, self.dialer, self.offline, via)
        httpd = _HTTPServer(self.listen, context)
        stack.callback(httpd.server_close)  # joins the handler threads
        stack.callback(httpd.cut_clients)
        stack.callback(downloads.close)  # handlers waiting on downloads wake up and finish
        thread = threading.Thread(
            target=httpd.serve_forever, args=(0.1,), name="dibdo proxy", daemon=True
        )
        thread.start()
        stack.callback(thread.join)
        stack.callback(httpd.shutdown)
        return httpd

    @property
    def address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("the proxy is not running")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The proxy's URL, for http_proxy and apt's Acquire::http::Proxy."""
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def stats(self) -> ProxyStats:
        """Counters since this server started."""
        return self._stats.live() if self._stats is not None else ProxyStats()


def serve(
    *,
    listen: str = "127.0.0.1:3142",
    cache_dir: Path,
    offline: bool = False,
    allow_private: bool = False,
    index_window: float = 86400.0,
    size_limit: int = DEFAULT_SIZE_LIMIT,
) -> int:
    """Run the proxy in the foreground until SIGINT/SIGTERM; prints its URL on stdout."""
    try:
        host, port = parse_authority(listen, default_port=3142)
    except BadTarget as exc:
        raise ConfigError(f"bad --listen address {listen!r}", hint="use HOST:PORT") from exc
    if not _is_loopback(host):
        log.warn(f"listening on {host}: whoever reaches it can use this proxy")
    _die_with_parent()
    stop = threading.Event()
    proxy = ProxyServer(cache_dir, listen=(host, port), offline=offline,
                        index_window=index_window, allow_private=allow_private,
                        size_limit=size_limit)  # fmt: skip
    with _stop_on_signals(stop), _bound(proxy, listen):
        print(proxy.url, flush=True)
        log.info(f"dibdo proxy: caching in {cache_dir}{' (offline)' if offline else ''}")
        while not stop.wait(0.5):
            pass
    return 0


def _die_with_parent() -> None:
    """A proxy started in the foreground of a script goes when the script does (Linux
    PR_SET_PDEATHSIG), instead of holding its port as an orphan."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@contextlib.contextmanager
def _bound(proxy: ProxyServer, listen: str) -> Iterator[ProxyServer]:
    try:
        # The previous proxy on this port may still be letting go of it.
        retry(f"listening on {listen}", proxy.__enter__, attempts=10, delay=0.2, on=OSError)
    except OSError as exc:
        hint = "choose another address with --listen HOST:PORT"
        raise ConfigError(f"cannot listen on {listen}: {exc.strerror or exc}", hint=hint) from exc
    try:
        yield proxy
    finally:
        proxy.close()


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
