"""Reading an element's JSON and YAML files, with errors that name the file and the line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from dibdo.errors import ConfigError


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {os.fspath(path)}: {exc}") from exc


def _yaml_error(path: Path, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f"{os.fspath(path)}:{mark.line + 1}" if mark is not None else os.fspath(path)
    problem = getattr(exc, "problem", None) or str(exc)
    return ConfigError(f"{where}: bad YAML: {problem}", hint="fix the file's syntax")


def _json_error(path: Path, exc: json.JSONDecodeError) -> ConfigError:
    return ConfigError(
        f"{os.fspath(path)}:{exc.lineno}: bad JSON: {exc.msg}", hint="fix the file's syntax"
    )


def load_yaml(path: Path) -> object:
    """The YAML document in `path` (None for an empty file)."""
    try:
        return yaml.safe_load(_read(path))
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from exc


def load_json(path: Path, *, yaml_fallback: bool = False) -> object:
    """The JSON document in `path`; with `yaml_fallback`, YAML is accepted too, as DIB does."""
    text = _read(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        error = _json_error(path, exc)
        if not yaml_fallback:
            raise error from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise error from None
