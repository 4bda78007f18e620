"""`dibdo cleanup` and `dibdo cache stats|prune|clear`."""

from __future__ import annotations

from dibdo.config import Config, _size
from dibdo.journal import any_alive, reap
from dibdo.store import Store, remove_tree


def cleanup_main(config: Config) -> int:
    """Undo what killed builds left: mounts, loop devices, LVM, workspaces."""
    journals = config.cache_dir / "journal"
    done = reap(journals)
    staging = config.cache_dir / "staging"
    if staging.is_dir() and not any_alive(journals):
        for half in sorted(staging.iterdir()):
            remove_tree(half)
            done.append(f"removed the half-made cache entry {half.name}")
    print("\n".join(done) if done else "nothing to clean up")
    return 0


def cache_main(config: Config, action: str, size: str | None) -> int:
    with Store(config.cache_dir, size_limit=config.cache_size) as store:
        if action == "stats":
            st = store.stats()
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(st.by_kind.items()))
            print(
                f"{st.entries} entries ({kinds}), {st.bytes / 2**30:.2f} GiB "
                f"of {st.limit / 2**30:.0f} GiB"
            )
        elif action == "prune":
            removed = store.prune(_size(size) if size else config.cache_size)
            print(f"removed {len(removed)} entries")
        else:
            store.clear()
            print("cache cleared")
    return 0
