"""Formatting, lint and strict type checks run as tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["dibdo", "tests", "bench", "dodo.py"]


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / name
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_is_clean() -> None:
    proc = tool("ruff", "check", *SOURCES)
    assert proc.returncode == 0, proc.stdout


def test_ruff_format_is_clean() -> None:
    proc = tool("ruff", "format", "--check", *SOURCES)
    assert proc.returncode == 0, proc.stdout


def test_mypy_strict_is_clean() -> None:
    proc = tool("mypy")
    assert proc.returncode == 0, proc.stdout
