"""Serving index files through the IndexCache: the stored or revalidated copy with Range and
conditional requests, a pass-through for upstream's own answers, 504 when nothing is there."""

from __future__ import annotations

from dibdo.proxy._context import Context
from dibdo.proxy._exchange import Exchange
from dibdo.proxy.index import IndexReply
from dibdo.proxy.rules import Target
from dibdo.proxy.stats import ProxyStats


def serve_index(ex: Exchange, target: Target, ctx: Context) -> None:
    with ctx.index.fetch(target.url) as reply:
        if reply is None:
            ctx.stats.add(ProxyStats(requests=1, errors=1))
            why = "offline" if ctx.offline else "upstream unreachable"
            ex.error(504, f"not in the proxy cache ({why}): {target.url}")
        elif reply.body is not None and reply.status == 200:
            _send_whole(ex, reply, ctx)
        else:
            _stream(ex, reply, ctx)


def _send_whole(ex: Exchange, reply: IndexReply, ctx: Context) -> None:
    body = reply.body or b""
    plan = ex.plan(len(body), reply.headers)
    sent = plan.body_bytes(head=ex.head)
    if reply.from_cache:
        counts = ProxyStats(hits=1, bytes_from_cache=sent)
    else:
        counts = ProxyStats(misses=1, bytes_from_upstream=len(body))
    ctx.stats.add(ProxyStats(requests=1) + counts)  # counted before the client has it all
    ex.send_head(plan.status, reply.headers, length=plan.length, extra=plan.extra)
    if sent:
        ex.write(body[plan.start : plan.start + plan.length])


def _stream(ex: Exchange, reply: IndexReply, ctx: Context) -> None:
    """Upstream's answer as it comes (an error status, or a body too big to store)."""
    ctx.stats.add(ProxyStats(requests=1, misses=1))
    ex.send_head(reply.status, reply.headers, length=reply.length, reason=reply.reason)
    fetched = 0
    for chunk in reply.chunks:
        fetched += len(chunk)
        ctx.stats.add(ProxyStats(bytes_from_upstream=len(chunk)))
        ex.write(chunk)
    if reply.length is not None and fetched < reply.length and not ex.head:
        ex.abort()
