"""The `dibdo` and `disk-image-create` command lines.

Subcommands: build, elements, doctor, cleanup, cache, proxy, boot-test. Every user error
ends in `die()` (one sentence, a hint, status 1, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dibdo import config as cfg
from dibdo import log
from dibdo.errors import DibdoError, die


def _build_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("build", help="build an image from elements")
    p.add_argument("-o", dest="output", default=None, help="output name (NAME.qcow2, ...)")
    p.add_argument("--report", type=Path, default=None, help="write the build report here")
    cfg.add_arguments(p)
    p.add_argument("elements", nargs="+", metavar="ELEMENT")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("explain", help="say which tasks of a build would run, and why")
    p.add_argument("-o", dest="output", default=None, help="output name (as for build)")
    p.add_argument("--report", type=Path, default=None, help=argparse.SUPPRESS)
    cfg.add_arguments(p)
    p.add_argument("elements", nargs="+", metavar="ELEMENT")
    p.set_defaults(func=cmd_explain)


def cmd_build(args: argparse.Namespace) -> int:
    from dibdo.commands.build import build_main

    return build_main(args)


def cmd_explain(args: argparse.Namespace) -> int:
    from dibdo.commands.explain import explain_main

    return explain_main(args)


def cmd_elements(args: argparse.Namespace) -> int:
    from dibdo.elements.show import format_expansion, format_hooks
    from dibdo.tasks.build import ImageSpec
    from dibdo.tasks.session import elements_for

    config = cfg.load(args)
    spec = ImageSpec("elements", tuple(args.elements), (), Path("x"), no_base=args.no_base)
    es = elements_for(config, spec)
    print(format_hooks(es) if args.hooks else format_expansion(es))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from dibdo.commands.doctor import doctor_main

    return doctor_main()


def cmd_cleanup(args: argparse.Namespace) -> int:
    from dibdo.commands.maintenance import cleanup_main

    return cleanup_main(cfg.load(args))


def cmd_cache(args: argparse.Namespace) -> int:
    from dibdo.commands.maintenance import cache_main

    return cache_main(cfg.load(args), args.action, args.size)


def cmd_proxy(args: argparse.Namespace) -> int:
    from dibdo.commands.proxy import proxy_main

    return proxy_main(args)


def cmd_boot_test(args: argparse.Namespace) -> int:
    from dibdo.boot import boot_test_main

    return boot_test_main(
        args.image,
        timeout=args.timeout,
        expect=args.expect or (),
        log=args.log,
        uefi=args.uefi,
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="dibdo",
        description="Build disk images from DIB " "elements, as cached incremental steps.",
    )
    top.add_argument("-v", "--verbose", action="store_true", default=None)
    sub = top.add_subparsers(dest="command", required=True)
    _build_parser(sub)
    p = sub.add_parser("elements", help="show the expanded elements or their hooks")
    p.add_argument("--hooks", action="store_true", help="the merged per-phase script order")
    cfg.add_arguments(p, only=("arch", "no_base"))
    p.add_argument("elements", nargs="+", metavar="ELEMENT")
    p.set_defaults(func=cmd_elements)
    sub.add_parser("doctor", help="check host tools").set_defaults(func=cmd_doctor)
    p = sub.add_parser("cleanup", help="reap what a killed build left behind")
    cfg.add_arguments(p, only=("cache_dir",))
    p.set_defaults(func=cmd_cleanup)
    p = sub.add_parser("cache", help="local cache: stats, prune, clear")
    p.add_argument("action", choices=("stats", "prune", "clear"))
    p.add_argument("--size", default=None, help="prune down to this size (e.g. 20G)")
    cfg.add_arguments(p, only=("cache_dir",))
    p.set_defaults(func=cmd_cache)
    p = sub.add_parser("proxy", help="the package proxy: serve, stats")
    p.add_argument("action", choices=("serve", "stats"))
    p.add_argument("--listen", default="127.0.0.1:3142")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--offline", action="store_true")
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="allow proxying to loopback and private addresses",
    )
    p.set_defaults(func=cmd_proxy)
    p = sub.add_parser("boot-test", help="boot an image in qemu to its login prompt")
    p.add_argument("image", type=Path)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--expect", action="append", help="regex to wait for (repeatable)")
    p.add_argument("--log", type=Path, default=None, help="serial log file")
    p.add_argument("--uefi", action="store_true", help="boot with UEFI firmware (OVMF)")
    p.set_defaults(func=cmd_boot_test)
    return top


def _dispatch(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    if args.verbose:
        log.VERBOSE.set(True)
    try:
        return func(args)
    except DibdoError as exc:
        die(exc.message, hint=exc.hint)
    except KeyboardInterrupt:
        print("dibdo: interrupted; everything made was undone", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return _dispatch(args.func, args)


def disk_image_create(argv: Sequence[str] | None = None) -> int:
    from dibdo.commands.dib import dib_parser

    args = dib_parser().parse_args(argv)
    return _dispatch(cmd_build, args)
