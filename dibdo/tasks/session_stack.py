"""Everything a build process holds open, in one ExitStack: store, proxy, remote, builds.

Used by `dibdo build`, `disk-image-create` and dodo.py alike. SIGTERM is turned into
KeyboardInterrupt so that every context manager unwinds (mounts, loop devices, staging).
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
from collections.abc import Iterator, Mapping, Sequence
from types import FrameType
from typing import Any

from dibdo import log
from dibdo.config import Config
from dibdo.journal import for_process
from dibdo.store import Store
from dibdo.store.remote import RemoteCache
from dibdo.tasks.build import Build, ImageSpec
from dibdo.tasks.session import open_build


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)


@contextlib.contextmanager
def build_session(
    config: Config,
    specs: Sequence[ImageSpec],
    *,
    overrides: Sequence[Mapping[str, Any]] = (),
) -> Iterator[list[Build]]:
    """Open the store, the package proxy, the remote cache and one Build per spec (each
    with its own settings from `overrides`, e.g. an images.yaml entry's release)."""
    log.VERBOSE.set(config.verbose)
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(Store(config.cache_dir, size_limit=config.cache_size))
        proxy_url = config.proxy or _start_proxy(stack, config)
        remote = _open_remote(stack, config)
        builds = []
        for i, spec in enumerate(specs):
            changes = {
                k: v
                for k, v in (overrides[i] if i < len(overrides) else {}).items()
                if v is not None
            }
            own = dataclasses.replace(config, **changes)
            build = open_build(own, spec, store=store, proxy_url=proxy_url, remote=remote)
            builds.append(stack.enter_context(build))
        yield builds
    for_process(config.cache_dir).close()


def _start_proxy(stack: contextlib.ExitStack, config: Config) -> str | None:
    from dibdo.proxy import ProxyServer

    # Loopback-only and gone with the build, so a mirror on a private network is allowed.
    proxy = stack.enter_context(
        ProxyServer(
            config.cache_dir / "proxy",
            index_window=config.index_window,
            refresh=config.refresh,
            allow_private=True,
        )
    )
    return str(proxy.url)


def _open_remote(stack: contextlib.ExitStack, config: Config) -> RemoteCache | None:
    if not config.remote_cache:
        return None
    from dibdo.config import environment
    from dibdo.store.remote import RemoteConfig, RemoteMode, remote_auth_from_env

    mode = RemoteMode(config.remote_cache_mode)
    remote_config = RemoteConfig(url=config.remote_cache, mode=mode)
    auth = remote_auth_from_env(environment(), config.remote_cache)
    return stack.enter_context(RemoteCache(remote_config, auth=auth))
