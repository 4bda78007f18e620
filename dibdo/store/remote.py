"""The shared remote cache tier: a client of the bazel-remote HTTP cache protocol.

    {url}/ac/<name>      a task's result record (JSON bytes): the objects it produced
    {url}/cas/<sha256>   an object (a packed layer, a raw disk), addressed by its sha256

It works against bazel-remote and against any WebDAV server that accepts PUT (nginx:
`dav_methods PUT; create_full_put_path on;`). bazel-remote takes only 64-hex names under
ac/, so a key of another shape is stored under its sha256 (`ac_name()`), and it must run
with `--disable_http_ac_validation`, since our records are JSON, not ActionResult protobufs.

Order of use:

    with RemoteCache(config, auth=remote_auth_from_env(env, config.url)) as remote:
        record = remote.get_record(key)          # None on a miss or on any remote fault
        ok = remote.fetch_objects({sha: dest})   # parallel, verified, renamed into place
        remote.upload(key, record, {sha: path})  # queued: objects first, the record last
    # leaving the block waits for the uploads, then closes the HTTP session

A remote that is down, slow or returns garbage never raises: every method returns
None/False, warns once per kind of problem, and the caller builds locally. Once the remote
is found unreachable it is left alone for the rest of the build. The RemoteCache owns its
upload pools and HTTP session; `close()` (safe twice) joins the uploads and frees both.
"""

from __future__ import annotations

import enum
import hashlib
import json
import netrc
import os
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth

from dibdo import log
from dibdo.errors import ConfigError
from dibdo.store import _transfer as tx
from dibdo.store._transfer import Direction, TransferStat

RECORD_LIMIT = 16 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REMOTE_FAULTS = (tx.RemoteFault, requests.RequestException, OSError)
T = TypeVar("T")


class RemoteMode(enum.Enum):
    """What a runner may do with the remote: untrusted runners only READ."""

    READ = "read"
    WRITE = "write"
    READWRITE = "readwrite"

    @property
    def reads(self) -> bool:
        return self is not RemoteMode.WRITE

    @property
    def writes(self) -> bool:
        return self is not RemoteMode.READ


@dataclass(frozen=True)
class RemoteConfig:
    """Where the remote cache is and what this runner may do with it."""

    url: str
    mode: RemoteMode
    timeout: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"remote cache URL is not http(s)://host/...: {self.url}")
        if parts.username or parts.password:
            raise ConfigError(
                "the remote cache URL carries credentials",
                hint="use DIBDO_REMOTE_CACHE_USER/_PASSWORD, _TOKEN or a netrc",
            )
        if self.timeout <= 0:
            raise ConfigError(f"remote cache timeout must be positive: {self.timeout}")


class BearerAuth(AuthBase):
    """`Authorization: Bearer <token>` on every request."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<token>)"


def remote_auth_from_env(env: Mapping[str, str], url: str) -> AuthBase | None:
    """Credentials for `url`: DIBDO_REMOTE_CACHE_USER/_PASSWORD (basic), else
    DIBDO_REMOTE_CACHE_TOKEN (bearer), else the netrc entry for its host ($NETRC or
    ~/.netrc), else None. Never from the command line, where `ps` would show them."""
    user = env.get("DIBDO_REMOTE_CACHE_USER")
    if user:
        return HTTPBasicAuth(user, env.get("DIBDO_REMOTE_CACHE_PASSWORD", ""))
    token = env.get("DIBDO_REMOTE_CACHE_TOKEN")
    if token:
        return BearerAuth(token)
    return _netrc_auth(env, url)


def _netrc_auth(env: Mapping[str, str], url: str) -> AuthBase | None:
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    path = Path(env["NETRC"]) if env.get("NETRC") else home / ".netrc"
    host = urlsplit(url).hostname
    if not host or not path.is_file():
        return None
    try:
        entry = netrc.netrc(os.fspath(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return HTTPBasicAuth(entry[0] or "", entry[2] or "") if entry else None


def ac_name(key: str) -> str:
    """The name a record is stored under: the key when it is 64 lowercase hex digits (what
    bazel-remote accepts), else the sha256 of the key."""
    return key if _SHA256.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()


class RemoteCache:
    """The remote cache of one build.

    Order of use: `RemoteCache(config, auth=...)` -> `get_record()`, `fetch_objects()`,
    `has_object()`, `upload()` in any order and from any thread -> `wait()` (optional) ->
    `close()` (or use it as a context manager) -> `stats()` for the build report.
    """

    def __init__(
        self, config: RemoteConfig, *, auth: AuthBase | None = None, workers: int = 3
    ) -> None:
        self.config = config
        self._t = config.timeout
        self._base = config.url.rstrip("/")
        self._workers = max(1, workers)
        self._session = requests.Session()
        self._session.trust_env = False  # credentials and proxies come from our config only
        self._session.auth = auth
        adapter = HTTPAdapter(pool_maxsize=2 * self._workers + 2)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._objects = ThreadPoolExecutor(self._workers, thread_name_prefix="dibdo-cas-put")
        self._records = ThreadPoolExecutor(self._workers, thread_name_prefix="dibdo-ac-put")
        self._lock = threading.Lock()
        self._pending: list[Future[None]] = []
        self._puts: dict[str, Future[bool | None]] = {}
        self._rejected: set[str] = set()
        self._down = False
        self._closed = False
        self._mark = 0
        self._log = tx.TransferLog()

    def __enter__(self) -> RemoteCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Ctrl-C drops queued uploads; a failed build still shares the steps it finished.
        self.close(cancel=exc is not None and not isinstance(exc, Exception))

    def close(self, *, cancel: bool = False) -> None:
        """Wait for the uploads (unless `cancel`), then free the pools and the session."""
        with self._lock:
            closed, self._closed = self._closed, True
        if closed:
            return
        try:
            if not cancel:
                self.wait()
        finally:
            self._objects.shutdown(wait=not cancel, cancel_futures=cancel)
            self._records.shutdown(wait=not cancel, cancel_futures=cancel)
            self._session.close()

    def stats(self) -> list[TransferStat]:
        """Every transfer so far, in the order they ended."""
        return self._log.stats()

    def get_record(self, key: str) -> dict[str, Any] | None:
        """The record stored under `key`, or None (a miss, a fault, or WRITE mode)."""
        what = f"ac/{ac_name(key)}"
        if not self.config.mode.reads:
            return None
        body = self._transfer(Direction.DOWNLOAD, what, self._get_bytes)
        if body is None:
            return None
        try:
            record = json.loads(body)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            self._fault(tx.RemoteFault("garbage", f"{what}: not a JSON object, ignored"), what)
            return None
        return record

    def _get_bytes(self, meter: tx.Meter, what: str) -> bytes | None:
        body = tx.get_bytes(self._session, self._url(what), limit=RECORD_LIMIT, timeout=self._t)
        meter.bytes, meter.skip = len(body or b""), body is None
        return body

    def has_object(self, sha256: str) -> bool:
        """True when the remote holds the object (HEAD)."""
        return self._transfer(Direction.DOWNLOAD, f"cas/{sha256}", self._head) is True

    def _head(self, meter: tx.Meter, what: str) -> bool:
        meter.skip = True
        return tx.head(self._session, self._url(what), timeout=self._t)

    def fetch_object(self, sha256: str, dest: Path) -> bool:
        """Download an object to `dest`; True only when it arrived whole and matched its
        sha256. On False nothing is left at `dest` (or beside it)."""
        what = f"cas/{sha256}"
        if not self.config.mode.reads:
            return False
        if not _SHA256.fullmatch(sha256):
            self._fault(tx.RemoteFault("garbage", f"not a sha256 digest: {sha256!r}"), what)
            return False
        return (
            self._transfer(
                Direction.DOWNLOAD, what, lambda m, w: self._download(m, w, sha256, dest)
            )
            is True
        )

    def _download(self, meter: tx.Meter, what: str, sha256: str, dest: Path) -> bool:
        meter.bytes = tx.download(self._session, self._url(what), dest, sha256, timeout=self._t)
        return True

    def fetch_objects(self, objects: Mapping[str, Path]) -> bool:
        """Fetch several objects (sha256 -> dest) in parallel; True when all arrived.
        After the first failure the rest are not started; those already fetched stay."""
        if not objects or not self.config.mode.reads:
            return not objects
        failed = threading.Event()

        def one(item: tuple[str, Path]) -> bool:
            ok = not failed.is_set() and self.fetch_object(*item)
            if not ok:
                failed.set()
            return ok

        with ThreadPoolExecutor(min(self._workers, len(objects))) as pool:
            return all(list(pool.map(one, sorted(objects.items()))))

    def upload(self, key: str, record: Mapping[str, Any], objects: Mapping[str, Path]) -> None:
        """Queue `record` under `key` and its objects (sha256 -> file) for upload: objects
        first (those the remote holds are skipped), the record once all are there."""
        if not self.config.mode.writes or self._down:
            return
        body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
        puts = [self._put_object_once(sha, path) for sha, path in sorted(objects.items())]
        job = self._records.submit(self._put_record, f"ac/{ac_name(key)}", body, puts)
        with self._lock:
            self._pending.append(job)

    def _put_object_once(self, sha256: str, path: Path) -> Future[bool | None]:
        with self._lock:
            put = self._puts.get(sha256)
            if put is None or (put.done() and not put.result()):
                put = self._objects.submit(
                    self._transfer,
                    Direction.UPLOAD,
                    f"cas/{sha256}",
                    lambda m, w: self._put_file(m, w, path),
                )
                self._puts[sha256] = put
            return put

    def _put_file(self, meter: tx.Meter, what: str, path: Path) -> bool:
        """PUT the file unless the remote holds a copy that this build did not reject."""
        url = self._url(what)
        with self._lock:
            rejected = what in self._rejected
        meter.skip = not rejected and tx.head(self._session, url, timeout=self._t)
        if not meter.skip:
            meter.bytes = tx.put_file(self._session, url, path, timeout=self._t)
        return True

    def _put_record(self, what: str, body: bytes, puts: list[Future[bool | None]]) -> None:
        try:
            complete = all([put.result() for put in puts])
        except CancelledError:
            return
        if not complete:
            if not self._down:
                fault = tx.RemoteFault("upload failed", f"{what}: skipped, an object failed")
                self._fault(fault, what)
            return
        self._transfer(Direction.UPLOAD, what, lambda m, w: self._put_bytes(m, w, body))

    def _put_bytes(self, meter: tx.Meter, what: str, body: bytes) -> bool:
        meter.bytes = tx.put_bytes(self._session, self._url(what), body, timeout=self._t)
        return True

    def wait(self) -> list[TransferStat]:
        """Join the queued uploads; return the uploads made since the last wait()."""
        with self._lock:
            pending, self._pending = self._pending, []
        for job in pending:
            job.result()
        with self._lock:
            stats = self._log.stats()
            done, self._mark = stats[self._mark :], len(stats)
        uploads = [s for s in done if s.direction is Direction.UPLOAD]
        failed = sum(not s.ok for s in uploads)
        if failed:
            log.warn(
                f"remote cache: {failed} of {len(uploads)} uploads failed;"
                " other runners will build those steps themselves"
            )
        return uploads

    def _transfer(
        self, direction: Direction, what: str, action: Callable[[tx.Meter, str], T]
    ) -> T | None:
        """Run a measured `action(meter, what)`; a remote fault becomes a warning (once per
        kind) and None. Once the remote is unreachable, nothing more is tried."""
        if self._down:
            return None
        try:
            with self._log.measure(direction, what) as meter:
                return action(meter, what)
        except _REMOTE_FAULTS as exc:
            self._fault(tx.fault(exc, what), what)
            return None

    def _fault(self, fault: tx.RemoteFault, what: str) -> None:
        if fault.kind == "corrupt":
            with self._lock:
                self._rejected.add(what)  # our copy replaces it if we upload one
        if fault.kind == "unreachable":
            self._down = True
            fault = tx.RemoteFault(
                fault.kind,
                f"{self._base} is unreachable ({fault});"
                " building without it for the rest of this build",
            )
        self._log.warn_once(fault.kind, str(fault))

    def _url(self, what: str) -> str:
        return f"{self._base}/{what}"
