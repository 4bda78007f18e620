"""Content keys: canonical encoding, tree digests, the stat memo."""

from __future__ import annotations

import os
from pathlib import Path

from dibdo.keys import StatMemo, canonical, compute_key, tree_digest


def make_tree(root: Path) -> Path:
    (root / "d").mkdir(parents=True)
    (root / "d/f").write_text("one")
    (root / "g").write_text("two")
    os.symlink("g", root / "link")
    return root


def test_canonical_encoding_ignores_dict_order() -> None:
    assert canonical({"b": 1, "a": [1, 2]}) == canonical({"a": [1, 2], "b": 1})


def test_key_changes_with_any_input() -> None:
    a = compute_key("step", code_version=1, parent="p", hooks=["x"])
    assert a == compute_key("step", code_version=1, parent="p", hooks=["x"])
    assert a != compute_key("step", code_version=2, parent="p", hooks=["x"])
    assert a != compute_key("step", code_version=1, parent="q", hooks=["x"])
    assert a != compute_key("disk", code_version=1, parent="p", hooks=["x"])


def test_tree_digest_sees_content_mode_and_links(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    memo = StatMemo()
    first = tree_digest(root, memo)
    (root / "d/f").chmod(0o700)
    assert tree_digest(root, memo) != first
    os.unlink(root / "link")
    os.symlink("d/f", root / "link")
    assert tree_digest(root, StatMemo()) != first


def test_tree_digest_excludes_whole_subtrees(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    memo = StatMemo()
    first = tree_digest(root, memo, exclude=frozenset({"d"}))
    (root / "d/f").write_text("changed")
    assert tree_digest(root, memo, exclude=frozenset({"d"})) == first


def test_stat_memo_is_persisted_and_notices_changes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "t")
    memo = StatMemo(tmp_path / "memo.json")
    first = tree_digest(root, memo)
    memo.save()
    again = StatMemo(tmp_path / "memo.json")
    assert tree_digest(root, again) == first
    (root / "g").write_text("three")
    assert tree_digest(root, again) != first
