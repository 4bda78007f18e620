"""`write_checksums`: `IMAGE.md5` and `IMAGE.sha256` beside an output, read in one pass.

The files use the `md5sum`/`sha256sum` format with the image's base name, so
`sha256sum -c IMAGE.sha256` works from the directory holding both.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dibdo.convert._staging import staged

_CHUNK = 1 << 20


def write_checksums(path: Path) -> tuple[Path, Path]:
    """Write `path.md5` and `path.sha256`; return their paths."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
    written = []
    for digest, suffix in ((md5, "md5"), (sha256, "sha256")):
        dest = path.with_name(f"{path.name}.{suffix}")
        with staged(dest) as part:
            part.write_text(f"{digest.hexdigest()}  {path.name}\n")
        written.append(dest)
    return written[0], written[1]
