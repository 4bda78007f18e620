"""Index files through the proxy: frozen within the index window, revalidated with
conditional GETs after it (or with refresh), and served from the cache, stale if need be,
when the archive is offline or unreachable; a miss is then a 504 naming the URL."""

from __future__ import annotations

from pathlib import Path

from proxy_fixtures import ARCHIVE, FakeArchive, blob, closed_port, get, proxy_for

from dibdo.proxy import ProxyServer
from dibdo.proxy._dial import Dialer
from dibdo.proxy.index import IndexCache
from dibdo.proxy.objects import ObjectStore

RELEASE = "/debian/dists/bookworm/InRelease"
DEB = "/debian/pool/main/h/hello/hello_2.10-3_amd64.deb"
V1, V2 = b"Suite: bookworm\nVersion: 1\n", b"Suite: bookworm\nVersion: 2\n"


def _archive() -> FakeArchive:
    return FakeArchive({RELEASE: V1, DEB: blob(300_000)})


def test_index_is_frozen_within_the_window(tmp_path: Path) -> None:
    with _archive() as archive, proxy_for(tmp_path, archive) as proxy:
        first = get(proxy, ARCHIVE + RELEASE)
        archive.put(RELEASE, V2)
        second = get(proxy, ARCHIVE + RELEASE, Cache_Control="max-age=0")
        stats = proxy.stats()
    assert first.content == V1 and second.content == V1
    assert archive.count(RELEASE) == 1
    assert (stats.hits, stats.misses) == (1, 1)


def test_index_is_revalidated_with_a_conditional_get_after_the_window(tmp_path: Path) -> None:
    with _archive() as archive, proxy_for(tmp_path, archive, index_window=0) as proxy:
        get(proxy, ARCHIVE + RELEASE)
        same = get(proxy, ARCHIVE + RELEASE)
        archive.put(RELEASE, V2)
        changed = get(proxy, ARCHIVE + RELEASE)
        stats = proxy.stats()
    assert same.content == V1 and changed.content == V2
    assert "If-None-Match" in archive.seen[1].headers
    assert stats.bytes_from_upstream == len(V1) + len(V2)


def test_refresh_revalidates_once_per_server(tmp_path: Path) -> None:
    with _archive() as archive:
        with proxy_for(tmp_path, archive) as proxy:
            get(proxy, ARCHIVE + RELEASE)
        archive.put(RELEASE, V2)
        with proxy_for(tmp_path, archive, refresh=True) as proxy:
            fresh = get(proxy, ARCHIVE + RELEASE)
            again = get(proxy, ARCHIVE + RELEASE)
    assert fresh.content == V2 and again.content == V2
    assert archive.count(RELEASE) == 2


def test_offline_serves_the_cache_and_504_names_a_missing_url(tmp_path: Path) -> None:
    missing = ARCHIVE + "/debian/pool/main/n/nope/nope_1_all.deb"
    with _archive() as archive:
        with proxy_for(tmp_path, archive) as proxy:
            deb = get(proxy, ARCHIVE + DEB).content
            get(proxy, ARCHIVE + RELEASE)
        with proxy_for(tmp_path, archive, offline=True, index_window=0) as proxy:
            release = get(proxy, ARCHIVE + RELEASE)
            deb_again = get(proxy, ARCHIVE + DEB)
            miss = get(proxy, missing)
            index_miss = get(proxy, ARCHIVE + "/debian/dists/trixie/InRelease")
    assert release.content == V1 and deb_again.content == deb
    assert len(archive.seen) == 2
    assert miss.status_code == 504 and missing in miss.text
    assert index_miss.status_code == 504 and "trixie/InRelease" in index_miss.text


def test_unreachable_archive_serves_stale_indexes_and_stored_bodies(tmp_path: Path) -> None:
    with _archive() as archive, proxy_for(tmp_path, archive) as proxy:
        deb = get(proxy, ARCHIVE + DEB).content
        get(proxy, ARCHIVE + RELEASE)
    cut_off = {"archive.test": f"127.0.0.1:{closed_port()}"}
    with ProxyServer(tmp_path, resolve=cut_off, index_window=0) as proxy:
        release = get(proxy, ARCHIVE + RELEASE)
        deb_again = get(proxy, ARCHIVE + DEB)
        miss = get(proxy, ARCHIVE + "/debian/pool/main/n/new/new_1_all.deb")
        stats = proxy.stats()
    assert release.status_code == 200 and release.content == V1
    assert deb_again.content == deb
    assert miss.status_code == 504 and "new_1_all.deb" in miss.text
    assert stats.bytes_from_upstream == 0 and stats.errors == 1


def test_upstream_server_error_serves_the_stale_index(tmp_path: Path) -> None:
    archive = _archive()
    with archive, proxy_for(tmp_path, archive, index_window=0) as proxy:
        get(proxy, ARCHIVE + RELEASE)
        archive.fail_with = 503
        stale = get(proxy, ARCHIVE + RELEASE)
        fresh_miss = get(proxy, ARCHIVE + "/debian/dists/trixie/InRelease")
    assert stale.status_code == 200 and stale.content == V1
    assert fresh_miss.status_code == 503


def test_a_mutable_file_over_the_size_cap_is_streamed_through_not_stored(tmp_path: Path) -> None:
    big = "/debian/dists/bookworm/main/Contents-amd64.gz"
    body = blob(200_000)
    with FakeArchive({big: body}) as archive, ObjectStore(tmp_path, size_limit=2**30) as store:
        dialer = Dialer(resolve={"archive.test": archive.authority})
        with IndexCache(tmp_path, store.db, dialer, via="1.1 test", max_body=100_000) as index:
            for _ in range(2):
                with index.fetch(ARCHIVE + big) as reply:
                    assert reply is not None and reply.body is None
                    assert b"".join(reply.chunks) == body
    assert archive.count(big) == 2
