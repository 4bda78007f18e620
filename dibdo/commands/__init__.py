"""Subcommand bodies, one module per command."""
