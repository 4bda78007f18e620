"""The package-index state that keys depend on, frozen for a window.

A step that installs packages must not reuse a layer built from an old package index
forever, nor change its key every time the archive publishes. So the state (a digest of
the release files of the configured suites) is fetched at most once per window
(`--index-window`, default 24 h) and kept in `CACHE/index-state.json`; `--refresh` renews
it now. When the archive cannot be reached, the last known state is used with a warning.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from dibdo import log
from dibdo.config import Config
from dibdo.keys import canonical, digest_bytes


def release_urls(config: Config) -> list[str]:
    mirror = config.distribution_mirror.rstrip("/")
    security = config.debian_security_mirror.rstrip("/")
    rel = config.release
    return [
        f"{mirror}/dists/{rel}/InRelease",
        f"{mirror}/dists/{rel}-updates/InRelease",
        f"{security}/dists/{rel}-security/InRelease",
    ]


def current(config: Config, proxy_url: str | None) -> str:
    """The state to key on now: cached within the window, else fetched."""
    urls = release_urls(config)
    ident = digest_bytes(canonical(urls))
    path = config.cache_dir / "index-state.json"
    saved = _load(path)
    entry = saved.get(ident)
    fresh = entry and time.time() - float(str(entry["time"])) < config.index_window
    if entry and fresh and not config.refresh:
        return str(entry["state"])
    state = _fetch(urls, proxy_url)
    if state is None:
        if entry:
            log.warn("the package archive did not answer; keeping the last index state")
            return str(entry["state"])
        log.warn("the package archive did not answer; package steps are keyed as 'unknown'")
        return "unknown"
    saved[ident] = {"state": state, "time": time.time(), "urls": urls}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(saved, indent=1))
    tmp.replace(path)
    return state


def _load(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _fetch(urls: list[str], proxy_url: str | None) -> str | None:
    proxies = {"http": proxy_url} if proxy_url else None
    bodies: list[str] = []
    try:
        with requests.Session() as session:
            for url in urls:
                resp = session.get(url, timeout=20, proxies=proxies)
                bodies.append(digest_bytes(resp.content) if resp.ok else f"missing:{url}")
    except requests.RequestException:
        return None
    return digest_bytes(canonical(bodies))
