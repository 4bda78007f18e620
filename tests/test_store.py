"""The local store: atomic commits, nothing left by a failure, LRU eviction."""

from __future__ import annotations

from pathlib import Path

import pytest

from dibdo.store import Store


def fill(store: Store, key: str, size: int) -> None:
    with store.stage(key, "layer") as st:
        st.tree.mkdir()
        (st.tree / "blob").write_bytes(b"x" * size)


def test_committed_entry_is_found_with_its_metadata(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        with store.stage("k1", "layer") as st:
            st.tree.mkdir()
            st.meta["task"] = "step"
        assert store.has("k1")
        assert store.get("k1").meta["task"] == "step"


def test_failed_stage_leaves_no_entry_and_no_staging(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        with pytest.raises(RuntimeError), store.stage("k1", "layer") as st:
            (st.path / "half").write_text("x")
            raise RuntimeError("the step failed")
        assert not store.has("k1")
        assert list((tmp_path / "staging").iterdir()) == []


def test_eviction_removes_least_recently_used_first(tmp_path: Path) -> None:
    store = Store(tmp_path, size_limit=10 * 2**20)
    fill(store, "old", 4 * 2**20)
    fill(store, "mid", 4 * 2**20)
    store.close()
    store = Store(tmp_path, size_limit=10 * 2**20)
    store.get("old")
    fill(store, "new", 4 * 2**20)
    assert store.has("old") and store.has("new") and not store.has("mid")
    store.close()


def test_close_is_safe_twice(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.close()
    store.close()
