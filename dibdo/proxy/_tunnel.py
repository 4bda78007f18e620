"""CONNECT tunnels: bytes copied both ways between the client and upstream, never cached."""

from __future__ import annotations

import contextlib
import selectors
import socket

_IDLE = 300.0  # seconds without traffic either way before the tunnel is closed
_HALF_CLOSED = 10.0  # seconds the other side gets to finish once one side has closed


def tunnel(client: socket.socket, upstream: socket.socket) -> None:
    """Copy until both sides have closed (or the tunnel idles); closes neither socket."""
    peers = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as sel:
        for sock in peers:
            sel.register(sock, selectors.EVENT_READ)
        open_sides = 2
        while open_sides:
            ready = sel.select(_IDLE if open_sides == 2 else _HALF_CLOSED)
            if not ready:
                return
            for key, _ in ready:
                src: socket.socket = key.fileobj  # type: ignore[assignment]
                if not _pump(src, peers[src]):
                    sel.unregister(src)
                    open_sides -= 1


def _pump(src: socket.socket, dst: socket.socket) -> bool:
    """Move what `src` has to `dst`; False once `src` has closed (then half-close `dst`)."""
    try:
        data = src.recv(64 * 1024)
        if data:
            dst.sendall(data)
            return True
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
    return False
