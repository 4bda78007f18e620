"""Serving immutable bodies: from the store (with Range and conditional requests), or from a
download shared with every other client asking for the same archive path meanwhile.

While a body is still downloading it is sent whole (200) even to a Range request; HTTP lets
a server ignore Range, and apt then starts its partial file over.
"""

from __future__ import annotations

from dibdo.proxy._context import Context
from dibdo.proxy._exchange import Exchange
from dibdo.proxy._fetch import Download, DownloadFailed, State
from dibdo.proxy.rules import Target
from dibdo.proxy.stats import ProxyStats


def serve_body(ex: Exchange, target: Target, ctx: Context) -> None:
    if _from_store(ex, target, ctx):
        return
    if ctx.offline:
        ctx.stats.add(ProxyStats(requests=1, errors=1))
        ex.error(504, f"not in the proxy cache (offline): {target.url}")
        return
    try:
        download = ctx.downloads.join(target)
    except DownloadFailed as exc:
        ex.error(504, f"{exc}: {target.url}")
        return
    state = download.wait_answer()
    if state is State.STORED and _from_store(ex, target, ctx, hit=False):
        return
    if state in (State.STREAMING, State.STORED):
        _follow(ex, download, ctx)
    elif state is State.ANSWERED and download.answer is not None:
        answer = download.answer
        ctx.stats.add(ProxyStats(requests=1, misses=1))
        ex.send_head(answer.status, None, length=len(answer.body), reason=answer.reason,
                     extra=(("Content-Type", answer.content_type),))  # fmt: skip
        ex.write(answer.body)
    else:
        ctx.stats.add(ProxyStats(requests=1, errors=1))
        why = download.error or "no answer"
        ex.error(504, f"upstream failed and nothing is cached for {target.url}: {why}")


def _from_store(ex: Exchange, target: Target, ctx: Context, *, hit: bool = True) -> bool:
    found = ctx.store.open(target.key)
    if found is None:
        return False
    obj, f = found
    with f:
        plan = ex.plan(obj.size, obj.headers)
        sent = plan.body_bytes(head=ex.head)
        counts = ProxyStats(hits=1, bytes_from_cache=sent) if hit else ProxyStats(misses=1)
        ctx.stats.add(ProxyStats(requests=1) + counts)  # before the body: a client that got
        extra = (("Accept-Ranges", "bytes"), *plan.extra)  # it all sees it counted
        ex.send_head(plan.status, obj.headers, length=plan.length, extra=extra)
        if sent:
            ex.sendfile(f, plan.start, plan.length)
    return True


def _follow(ex: Exchange, download: Download, ctx: Context) -> None:
    ctx.stats.add(ProxyStats(requests=1, misses=1))
    ex.send_head(200, download.headers, length=download.length)
    if ex.head:
        return
    try:
        for chunk in download.follow():
            ex.write(chunk)
    except DownloadFailed:
        ex.abort()
