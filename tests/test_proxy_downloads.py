"""Shared and verified downloads: parallel requests for one uncached body make one upstream
GET (in one proxy, and in two proxies on one cache dir); a body cut short or not matching its
by-hash name is never stored; the store evicts the least recently used bodies."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from proxy_fixtures import ARCHIVE, FakeArchive, blob, get, proxy_for

from dibdo.proxy import ProxyServer
from dibdo.proxy.objects import ObjectStore

BIG = "/debian/pool/main/l/linux/linux-image_6.1_amd64.deb"
BODY = blob(8 * 2**20, seed=7)


def _parallel(proxies: list[ProxyServer], url: str, n: int) -> list[bytes]:
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(get, proxies[i % len(proxies)], url) for i in range(n)]
        return [f.result().content for f in futures]


def _fails(proxy: ProxyServer, url: str) -> bool:
    """The client sees the failure: a cut-off body, or an error status when the download
    had failed before the client's response started."""
    try:
        return get(proxy, url).status_code != 200
    except requests.RequestException:
        return True


def test_parallel_requests_for_one_uncached_body_make_one_download(tmp_path: Path) -> None:
    with FakeArchive({BIG: BODY}, slow=0.005) as archive, proxy_for(tmp_path, archive) as proxy:
        bodies = _parallel([proxy], ARCHIVE + BIG, 6)
        stats = proxy.stats()
    assert all(body == BODY for body in bodies)
    assert archive.count(BIG) == 1
    assert stats.bytes_from_upstream == len(BODY)


def test_two_proxies_on_one_cache_dir_share_bodies_and_downloads(tmp_path: Path) -> None:
    small = "/debian/pool/main/h/hello/hello_2.10-3_amd64.deb"
    archive = FakeArchive({BIG: BODY, small: b"hello"}, slow=0.005)
    with archive, proxy_for(tmp_path, archive) as one, proxy_for(tmp_path, archive) as two:
        get(one, ARCHIVE + small)
        from_two = get(two, ARCHIVE + small)
        bodies = _parallel([one, two], ARCHIVE + BIG, 4)
    assert from_two.content == b"hello" and archive.count(small) == 1
    assert all(body == BODY for body in bodies)
    assert archive.count(BIG) == 1


def test_truncated_upstream_body_is_never_stored(tmp_path: Path) -> None:
    with FakeArchive({BIG: BODY}) as archive, proxy_for(tmp_path, archive) as proxy:
        archive.truncate.add(BIG)
        assert _fails(proxy, ARCHIVE + BIG)
        archive.truncate.clear()
        whole = get(proxy, ARCHIVE + BIG)
    assert whole.content == BODY and archive.count(BIG) == 2
    with ObjectStore(tmp_path, size_limit=2**30) as store:
        assert store.usage() == (1, len(BODY))


def test_by_hash_body_not_matching_its_name_is_not_stored(tmp_path: Path) -> None:
    good, bad = b"Package: hello\n", b"Package: tampered\n"
    digest = hashlib.sha256(good).hexdigest()
    path = f"/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/{digest}"
    with FakeArchive({path: bad}) as archive, proxy_for(tmp_path, archive) as proxy:
        assert _fails(proxy, ARCHIVE + path)
        archive.put(path, good)
        fixed = get(proxy, ARCHIVE + path)
        again = get(proxy, ARCHIVE + path)
    assert fixed.content == good and again.content == good
    assert archive.count(path) == 2


def test_least_recently_used_body_is_evicted_over_the_size_limit(tmp_path: Path) -> None:
    paths = [f"/debian/pool/main/p/p{i}/p{i}_1_all.deb" for i in range(3)]
    a, b, c = paths
    files = {path: blob(2**20, seed=i) for i, path in enumerate(paths)}
    archive = FakeArchive(files)
    with archive, proxy_for(tmp_path, archive, size_limit=int(2.5 * 2**20)) as proxy:
        for path in (a, b, a, c, a, b):
            assert get(proxy, ARCHIVE + path).content == files[path]
    assert [archive.count(p) for p in (a, b, c)] == [1, 2, 1]
