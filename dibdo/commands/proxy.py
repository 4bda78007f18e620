"""`dibdo proxy serve|stats`: the package proxy for a team, or its figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from dibdo.config import PROJECT_ROOT
from dibdo.proxy import format_stats, serve


def proxy_main(args: argparse.Namespace) -> int:
    cache_dir: Path = args.cache_dir or PROJECT_ROOT / "cache" / "proxy"
    if args.action == "stats":
        print(format_stats(cache_dir))
        return 0
    return serve(
        listen=args.listen,
        cache_dir=cache_dir,
        offline=args.offline,
        allow_private=args.allow_private,
    )
