"""Logging for dibdo: `step()` logs a nested, timed step; verbosity lives in a contextvar."""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Iterator

VERBOSE: contextvars.ContextVar[bool] = contextvars.ContextVar("dibdo_verbose", default=False)
QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("dibdo_quiet", default=False)
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("dibdo_depth", default=0)


def info(message: str) -> None:
    """Print a progress line at the current nesting depth."""
    if not QUIET.get():
        _write("  " * _DEPTH.get() + message)


def _write(line: str) -> None:
    # A closed stderr (output piped into `head`) must not stop cleanup half-way.
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr, flush=True)


def debug(message: str) -> None:
    """Print a line only when verbose."""
    if VERBOSE.get():
        info(message)


def warn(message: str) -> None:
    """Print a warning, whatever the verbosity."""
    _write("  " * _DEPTH.get() + f"warning: {message}")


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    """Log `title`, indent what is logged inside, and log the elapsed time at the end."""
    info(f"{title} ...")
    token = _DEPTH.set(_DEPTH.get() + 1)
    start = time.monotonic()
    try:
        yield
    finally:
        _DEPTH.reset(token)
        debug(f"{title}: {time.monotonic() - start:.2f}s")
