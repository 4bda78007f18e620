"""What the proxy served: counters since a server started (`ProxyServer.stats()`, and live as
JSON at `GET <proxy url>/_dibdo/stats`) and totals since the cache directory was made,
persisted in its `proxy.sqlite` (`format_stats()`, i.e. `dibdo proxy stats --cache-dir DIR`).

- hits: requests answered from the cache (a stored body, an index inside its window, an index
  revalidated with 304, a stale index while upstream is down);
- misses: requests whose body came from upstream (those sharing one download included);
- errors: requests answered 504 (upstream unreachable or offline, nothing cached);
- bytes_from_cache: body bytes sent to clients from the cache;
- bytes_from_upstream: body bytes downloaded from upstream, each download counted once.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path

from dibdo.proxy._db import Database


@dataclass(frozen=True)
class ProxyStats:
    """Counters of the proxy; `a + b` adds them field by field."""

    requests: int = 0
    hits: int = 0
    misses: int = 0
    errors: int = 0
    tunnels: int = 0
    bytes_from_cache: int = 0
    bytes_from_upstream: int = 0

    def __add__(self, other: ProxyStats) -> ProxyStats:
        fields = dataclasses.fields(self)
        return ProxyStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields))

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class StatsRecorder:
    """Adds to the counters of one server (in memory) and of the cache dir (in sqlite)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._live = ProxyStats()

    def add(self, delta: ProxyStats) -> None:
        with self._lock:
            self._live = self._live + delta
        changed = [(name, n) for name, n in delta.as_dict().items() if n]
        with self._db.transaction() as db:
            db.executemany(
                "INSERT INTO counters VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                changed,
            )

    def live(self) -> ProxyStats:
        """Counters since this server started."""
        with self._lock:
            return self._live

    def total(self) -> ProxyStats:
        """Counters since the cache directory was made, all processes together."""
        return read_totals(self._db)


def read_totals(db: Database) -> ProxyStats:
    names = {f.name for f in dataclasses.fields(ProxyStats)}
    rows = db.query("SELECT name, value FROM counters")
    return ProxyStats(**{name: int(value) for name, value in rows if name in names})


def format_stats(cache_dir: Path) -> str:
    """The cumulative counters and store usage of a proxy cache directory, as text."""
    path = cache_dir / "proxy.sqlite"
    if not path.exists():
        return f"no proxy cache in {cache_dir}"
    with Database(path) as db:
        totals = read_totals(db)
        count, size = db.query("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM objects")[0]
    lines = [f"proxy cache {cache_dir}"]
    for name, value in totals.as_dict().items():
        shown = _human(value) if name.startswith("bytes") else str(value)
        lines.append(f"  {name.replace('_', ' '):<20} {shown}")
    lines.append(f"  {'stored bodies':<20} {count}, {_human(int(size))}")
    return "\n".join(lines)


def _human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit} ({n} B)"
        value /= 1024
    return f"{n} B"
