#!/usr/bin/env python3
"""Benchmark: hashing a 10,000-file tree cold, then again through the stat memo.

Run: .venv/bin/python bench/keys.py   (prints seconds for both passes)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from dibdo.keys import StatMemo, tree_digest


def make_tree(root: Path, files: int = 10_000) -> None:
    for i in range(files):
        sub = root / f"d{i // 100:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"f{i:05d}").write_bytes(f"content {i}\n".encode() * 50)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        make_tree(root)
        memo_file = Path(tmp) / "memo.json"
        t0 = time.perf_counter()
        cold = StatMemo(memo_file)
        first = tree_digest(root, cold)
        t1 = time.perf_counter()
        cold.save()
        StatMemo(memo_file)  # warm the loader
        memo = StatMemo(memo_file)
        t2 = time.perf_counter()
        second = tree_digest(root, memo)
        t3 = time.perf_counter()
        assert first == second
        print("| pass | files | seconds |\n|---|---|---|")
        print(f"| cold (reads every file) | 10000 | {t1 - t0:.3f} |")
        print(f"| warm (stat memo) | 10000 | {t3 - t2:.3f} |")


if __name__ == "__main__":
    main()
