"""What every request handler of one ProxyServer shares; the server owns and closes it all."""

from __future__ import annotations

from dataclasses import dataclass

from dibdo.proxy._dial import Dialer
from dibdo.proxy._fetch import Downloads
from dibdo.proxy.index import IndexCache
from dibdo.proxy.objects import ObjectStore
from dibdo.proxy.stats import StatsRecorder


@dataclass(frozen=True)
class Context:
    store: ObjectStore
    downloads: Downloads
    index: IndexCache
    stats: StatsRecorder
    dialer: Dialer
    offline: bool
    via: str  # this server's Via token: a request carrying it has looped back to us
