"""`dibdo cleanup` and `dibdo cache stats|prune|clear`."""

from __future__ import annotations

from dibdo.config import Config, _size
from dibdo.journal import reap
from dibdo.store import Store


def cleanup_main(config: Config) -> int:
    """Undo what killed builds left: mounts, loop devices, LVM, workspaces."""
    done = reap(config.cache_dir / "journal")
    print("\n".join(done) if done else "nothing to clean up")
    return 0


def cache_main(config: Config, action: str, size: str | None) -> int:
    with Store(config.cache_dir, size_limit=config.cache_size) as store:
        if action == "stats":
            st = store.stats()
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(st.by_kind.items()))
            print(f"{st.entries} entries ({kinds}), {st.bytes / 2**30:.2f} GiB "
                  f"of {st.limit / 2**30:.0f} GiB")
        elif action == "prune":
            removed = store.prune(_size(size) if size else config.cache_size)
            print(f"removed {len(removed)} entries")
        else:
            store.clear()
            print("cache cleared")
    return 0
