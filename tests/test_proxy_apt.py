"""The proxy against the real Debian archive: mmdebstrap (real apt) builds a bookworm essential
tree through it three times; the second time nothing comes from upstream, the third time
upstream is cut off (its host resolved to a closed port) and the build still succeeds from the
cache. And apt-cacher-ng's `http://HTTPS///host/path` form is fetched over TLS and cached."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from proxy_fixtures import closed_port, get

from dibdo.config import default_mirror
from dibdo.proxy import ProxyServer, ProxyStats
from dibdo.run import run

pytestmark = pytest.mark.network


def _bootstrap(proxy: ProxyServer, target: Path) -> ProxyStats:
    """mmdebstrap an essential bookworm tarball through `proxy`; the proxy's stats after."""
    apt_proxy = f'Acquire::http::Proxy "{proxy.url}"'
    argv = ["mmdebstrap", "--variant=essential", f"--aptopt={apt_proxy}", "bookworm",
            target, default_mirror()]  # fmt: skip
    run(argv, logfile=target.with_suffix(".log"), timeout=900)
    return proxy.stats()


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mmdebstrap"), reason="root, mmdebstrap")
def test_apt_downloads_once_then_builds_from_cache_with_upstream_cut_off(tmp_path: Path) -> None:
    cache = tmp_path / "proxy"
    host = urlsplit(default_mirror()).hostname or ""
    with ProxyServer(cache) as proxy:
        cold = _bootstrap(proxy, tmp_path / "cold.tar")
    with ProxyServer(cache) as proxy:
        warm = _bootstrap(proxy, tmp_path / "warm.tar")
    cut_off = {host: f"127.0.0.1:{closed_port()}"}
    with ProxyServer(cache, resolve=cut_off, index_window=0) as proxy:
        offline = _bootstrap(proxy, tmp_path / "cut-off.tar")
    assert cold.bytes_from_upstream > 10 * 2**20
    assert warm.bytes_from_upstream == 0 and warm.misses == 0 and warm.hits > 50
    assert offline.bytes_from_upstream == 0 and offline.errors == 0
    assert (tmp_path / "cut-off.tar").stat().st_size > 10 * 2**20


def test_https_form_is_fetched_over_tls_and_cached(tmp_path: Path) -> None:
    mirror = urlsplit(default_mirror())
    url = f"http://HTTPS///{mirror.hostname}{mirror.path}/dists/bookworm/Release"
    with ProxyServer(tmp_path) as proxy:
        first, second = get(proxy, url), get(proxy, url)
        stats = proxy.stats()
    assert first.status_code == 200 and b"Suite:" in first.content
    assert second.content == first.content
    assert stats.bytes_from_upstream == len(first.content) and stats.hits == 1
