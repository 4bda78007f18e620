"""The caching HTTP package proxy: apt, debootstrap and mmdebstrap download through it, so
no package is downloaded twice and builds work offline.

Public API: `ProxyServer` (context manager), `ProxyStats`, `serve()` and `format_stats()`
for the `dibdo proxy serve|stats` commands. Module map: `rules` (what is cached how),
`objects` (content-addressed bodies + LRU index), `index` (index files via requests-cache,
frozen in the index window), `stats`, `server`; internal `_dial` (upstream connections,
private-address refusal), `_fetch` (shared downloads), `_handler`/`_serve_*`/`_exchange`
(HTTP handling), `_tunnel` (CONNECT), `_db` (sqlite).
"""

from dibdo.proxy.server import ProxyServer, serve
from dibdo.proxy.stats import ProxyStats, format_stats

__all__ = ["ProxyServer", "ProxyStats", "format_stats", "serve"]
