"""Writing an output atomically: into a temp file beside it, renamed into place on success.

`staged(dest)` yields the temp path and removes it if the block fails, so a failed or
interrupted conversion never leaves a half-written `dest`. `scratch_dir(dest)` is a temp
directory beside `dest` (same file system, so reflinks and renames work), removed at exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """A temp path beside `dest`, renamed to `dest` when the block ends without error."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    part = Path(name)
    try:
        yield part
        os.chmod(part, 0o644)  # mkstemp made it 0600; outputs are for everyone to read
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_dir(dest: Path) -> Iterator[Path]:
    """A temp directory beside `dest`, removed with its contents when the block ends."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
