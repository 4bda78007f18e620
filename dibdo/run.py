"""`run()`: the one way dibdo runs a command. No other module imports `subprocess`.

Commands get a minimal environment (PATH, LANG and what the caller declares), read stdin
from /dev/null unless given input, are logged as `+ cmd` when verbose, and on failure raise
`StepFailed` saying whether the command was not found, killed by a signal or exited
non-zero, with the command line to paste. `spawn()` starts a background process as a
context manager that always stops it; `retry()` is the one retry loop.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from dibdo import log
from dibdo.errors import StepFailed

Arg = str | os.PathLike[str]
T = TypeVar("T")

_HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Result:
    """What a finished command returned."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The minimal environment every command starts from."""
    env = {"PATH": _HOST_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/root"}
    env.update(extra or {})
    return env


def _describe(argv: Sequence[str], returncode: int) -> str:
    line = shlex.join(argv)
    if returncode == 127:
        return f"command not found: {line}"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return f"command killed by {name}: {line}"
    return f"command exited with status {returncode}: {line}"


def run(
    argv: Sequence[Arg],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    capture: bool = False,
    input: bytes | None = None,
    logfile: Path | None = None,
    stdout: IO[bytes] | None = None,
    timeout: float | None = None,
) -> Result:
    """Run `argv`; return its Result or raise StepFailed when it fails and `check` is set.

    `capture` returns stdout as text; `logfile` appends stdout and stderr to a file;
    `stdout` sends stdout to an open binary file (for pipes into archives).
    """
    args = tuple(os.fspath(a) for a in argv)
    log.debug(f"+ {shlex.join(args)}")
    with contextlib.ExitStack() as stack:
        out: int | IO[bytes] | None = None
        err: int | IO[bytes] | None = None
        if logfile is not None:
            fh = stack.enter_context(open(logfile, "ab"))
            out, err = fh, subprocess.STDOUT
        if capture:
            out = subprocess.PIPE
        elif stdout is not None:
            out = stdout
        try:
            proc = subprocess.Popen(
                args,
                env=dict(env) if env is not None else base_env(),
                cwd=cwd,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise StepFailed(_describe(args, 127)) from None
        stdout_bytes = _communicate(proc, args, input, timeout)
    text = stdout_bytes.decode(errors="replace") if capture and stdout_bytes else ""
    if check and proc.returncode != 0:
        raise StepFailed(_describe(args, proc.returncode), hint=_tail(logfile))
    return Result(args, proc.returncode, text)


def _communicate(
    proc: subprocess.Popen[bytes],
    args: tuple[str, ...],
    input: bytes | None,
    timeout: float | None,
) -> bytes:
    """Wait for `proc`. On Ctrl-C, SIGTERM or a timeout its whole process group is stopped
    (it runs in a session of its own, so a hook's children go too) before we go on."""
    try:
        out, _ = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        raise StepFailed(f"command timed out after {timeout}s: {shlex.join(args)}") from None
    except BaseException:
        _stop_group(proc)
        raise
    return out or b""


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 30.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def output(argv: Sequence[Arg], **kwargs: object) -> str:
    """Run `argv` and return its stdout, stripped."""
    return run(argv, capture=True, **kwargs).stdout.strip()  # type: ignore[arg-type]


def _tail(logfile: Path | None, lines: int = 20) -> str:
    if logfile is None or not logfile.exists():
        return ""
    text = logfile.read_text(errors="replace").splitlines()[-lines:]
    return f"last lines of {logfile}:\n" + "\n".join(text)


@contextlib.contextmanager
def spawn(
    argv: Sequence[Arg], *, env: Mapping[str, str] | None = None, logfile: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a background process; it is terminated (then killed) when the block ends."""
    args = tuple(os.fspath(a) for a in argv)
    log.debug(f"+ {shlex.join(args)} &")
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(logfile, "ab")) if logfile else subprocess.DEVNULL
        proc = subprocess.Popen(
            args,
            env=dict(env) if env is not None else base_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def retry(
    what: str,
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    delay: float = 0.2,
    on: type[BaseException] | tuple[type[BaseException], ...] = StepFailed,
) -> T:
    """Call `fn` until it succeeds, at most `attempts` times, logging each retry and why."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except on as exc:
            if attempt == attempts:
                raise
            log.debug(f"retrying {what} ({attempt}/{attempts}): {exc}")
            time.sleep(delay * attempt)
    raise AssertionError("unreachable")
