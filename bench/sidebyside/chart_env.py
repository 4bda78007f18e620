"""The bench's own virtualenv for the chart (matplotlib, pinned): the project's
dependencies stay as they are. Set up on first use under the bench root."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dibdo.run import base_env, run

MATPLOTLIB = "matplotlib==3.10.0"


def setup(root: Path, *, environ: Mapping[str, str]) -> Path:
    """The plot virtualenv's python, with matplotlib installed (once)."""
    venv = root / "plot-venv"
    stamp = venv / f".{MATPLOTLIB}"
    if not stamp.exists():
        print(f"setting up {MATPLOTLIB} in {venv}", flush=True)
        if not (venv / "bin" / "python").exists():
            run(["python3", "-m", "venv", venv], env=environ)
        run([venv / "bin" / "pip", "install", "-q", MATPLOTLIB], env=environ)
        stamp.touch()
    return venv / "bin" / "python"


def env() -> dict[str, str]:
    return base_env({"MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/dibdo-bench-mpl"})
