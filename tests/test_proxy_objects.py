"""The proxy's content-addressed body store: commit, lookup, self-healing, LRU eviction."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from dibdo.proxy.objects import BodyHeaders, ObjectStore, StoredObject


def _commit(store: ObjectStore, key: str, body: bytes) -> StoredObject:
    part, fd = store.staging()
    os.write(fd, body)
    os.close(fd)
    sha = hashlib.sha256(body).hexdigest()
    return store.commit(key, part, sha256=sha, size=len(body), headers=BodyHeaders(etag='"e"'))


def test_committed_body_is_stored_once_by_content(tmp_path: Path) -> None:
    with ObjectStore(tmp_path, size_limit=2**20) as store:
        one = _commit(store, "/debian/pool/a.deb", b"same bytes")
        two = _commit(store, "/ubuntu/pool/a.deb", b"same bytes")
        found = store.open("/ubuntu/pool/a.deb")
        assert found is not None and found[1].read() == b"same bytes"
        found[1].close()
        assert one.sha256 == two.sha256 and store.usage() == (1, 10)
        assert store.lookup("/debian/pool/a.deb") == one
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_body_whose_file_vanished_is_a_miss(tmp_path: Path) -> None:
    with ObjectStore(tmp_path, size_limit=2**20) as store:
        obj = _commit(store, "/pool/a.deb", b"body")
        store.path_of(obj.sha256).unlink()
        assert store.open("/pool/a.deb") is None
        assert store.lookup("/pool/a.deb") is None


def test_eviction_removes_least_recently_used_files(tmp_path: Path) -> None:
    with ObjectStore(tmp_path, size_limit=25) as store:
        old = _commit(store, "/pool/old.deb", b"o" * 10)
        _commit(store, "/pool/used.deb", b"u" * 10)
        used = store.open("/pool/used.deb")
        assert used is not None
        used[1].close()
        _commit(store, "/pool/new.deb", b"n" * 10)
        assert store.lookup("/pool/old.deb") is None
        assert not store.path_of(old.sha256).exists()
        assert store.usage() == (2, 20)


def test_stale_partial_downloads_are_reaped_on_open(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    stale, fresh = tmp_path / "tmp" / "dead.part", tmp_path / "tmp" / "live.part"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (0, 0))
    with ObjectStore(tmp_path, size_limit=2**20):
        assert not stale.exists() and fresh.exists()
