"""The few exceptions dibdo raises, and `die()` for user errors.

A user error (bad input, a failing hook) ends with one clear sentence and a hint, exit
status 1, no traceback. Internal errors keep their traceback.
"""

from __future__ import annotations

import sys
from typing import NoReturn


class DibdoError(Exception):
    """Base of the errors that are reported to the user without a traceback."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(DibdoError):
    """Bad configuration: an element, a YAML file, a flag or an environment variable."""


class StepFailed(DibdoError):
    """A build step (a hook script, a command) failed."""


class CacheError(DibdoError):
    """The local or remote cache could not be read or written."""


class DeviceError(DibdoError):
    """A loop device, mount or partition could not be made or released."""


def die(message: str, *, hint: str = "") -> NoReturn:
    """Print a user error and exit with status 1."""
    print(f"dibdo: error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    raise SystemExit(1)
