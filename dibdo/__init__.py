"""dibdo: DIB-compatible disk images built as a chain of cached doit tasks."""

__version__ = "0.1.0"
