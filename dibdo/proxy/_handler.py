"""The request handler: one thread per client connection, one request after another on it
(apt pipelines several). Parses the target, refuses what the proxy must not do, and hands
the request to the body, index, tunnel or stats code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Protocol

from dibdo import log
from dibdo.proxy._context import Context
from dibdo.proxy._dial import Refused
from dibdo.proxy._exchange import Exchange
from dibdo.proxy._serve_body import serve_body
from dibdo.proxy._serve_index import serve_index
from dibdo.proxy._tunnel import tunnel
from dibdo.proxy.rules import BadTarget, Kind, parse_authority, parse_target
from dibdo.proxy.stats import ProxyStats

STATS_PATH = "/_dibdo/stats"


class HasContext(Protocol):
    context: Context


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dibdo-proxy"
    timeout = 120  # idle keep-alive connections are closed after this many seconds

    @property
    def ctx(self) -> Context:
        server: HasContext = self.server  # type: ignore[assignment]
        return server.context

    def do_GET(self) -> None:
        self._guarded(self._dispatch, Exchange(self, head=False))

    def do_HEAD(self) -> None:
        self._guarded(self._dispatch, Exchange(self, head=True))

    def do_CONNECT(self) -> None:
        self._guarded(self._connect, Exchange(self, head=False))

    def _guarded(self, serve: Callable[[Exchange], None], ex: Exchange) -> None:
        """Run `serve`; a client that went away ends the connection, any other failure is
        reported (to this client, and as a warning) while the other clients carry on."""
        try:
            serve(ex)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as exc:
            log.warn(f"proxy: {self.command} {self.path}: {type(exc).__name__}: {exc}")
            if ex.headers_sent:
                ex.abort()
            else:
                ex.error(502, f"proxy error for {self.path}: {exc}")

    def _connect(self, ex: Exchange) -> None:
        try:
            host, port = parse_authority(self.path)
        except BadTarget as exc:
            ex.error(400, exc.message)
            return
        if port != 443 and not self.ctx.dialer.allow_private:
            ex.error(403, f"CONNECT is only tunnelled to port 443, not {port}")
            return
        if self.ctx.offline:
            ex.error(504, f"offline: no tunnel to {host}:{port}")
            return
        try:
            upstream = self.ctx.dialer.connect(host, port, timeout=15.0)
        except Refused as exc:
            ex.error(403, str(exc))
            return
        except OSError as exc:
            ex.error(504, f"cannot reach {host}:{port}: {exc}")
            return
        self.ctx.stats.add(ProxyStats(tunnels=1))
        self.close_connection = True
        with upstream:
            self.send_response(200, "Connection established")  # no Content-Length here (RFC 9110)
            self.end_headers()
            ex.headers_sent = True
            upstream.settimeout(None)
            tunnel(self.connection, upstream)

    def _dispatch(self, ex: Exchange) -> None:
        if self.path.startswith("/_dibdo/"):
            self._internal(ex)
            return
        if self.ctx.via in (self.headers.get("Via") or ""):
            ex.error(508, f"request loop: {self.path} points back at this proxy")
            return
        try:
            target = parse_target(self.path)
        except BadTarget as exc:
            ex.error(400, exc.message)
            return
        if not self.ctx.offline:
            try:
                self.ctx.dialer.check(target.host, target.port)
            except Refused as exc:
                ex.error(403, str(exc))
                return
        if target.kind is Kind.IMMUTABLE:
            serve_body(ex, target, self.ctx)
        else:
            serve_index(ex, target, self.ctx)

    def _internal(self, ex: Exchange) -> None:
        if self.path != STATS_PATH:
            ex.error(404, f"no such proxy endpoint: {self.path} (try {STATS_PATH})")
            return
        stats = self.ctx.stats
        count, size = self.ctx.store.usage()
        report = {
            "since_start": stats.live().as_dict(),
            "total": stats.total().as_dict(),
            "store": {"bodies": count, "bytes": size},
        }
        body = json.dumps(report, indent=2).encode() + b"\n"
        ex.send_head(200, None, length=len(body), extra=(("Content-Type", "application/json"),))
        ex.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("proxy: " + format % args)
