"""`disk-image-create`: DIB's command line, mapped onto `dibdo build`."""

from __future__ import annotations

import argparse

from dibdo import config as cfg


def dib_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="disk-image-create", description="DIB-compatible front end of dibdo build"
    )
    p.add_argument("-o", dest="output", default=None)
    p.add_argument("-x", dest="verbose", action="store_true", default=None, help="trace")
    p.add_argument(
        "-u",
        dest="uncompressed",
        action="store_true",
        help="uncompressed qcow2 (the default in dibdo)",
    )
    p.add_argument("--no-tmpfs", action="store_true", help="accepted; dibdo uses no tmpfs")
    p.add_argument("--logfile", default=None)
    p.add_argument("--report", default=None)
    cfg.add_arguments(
        p,
        only=(
            "arch",
            "formats",
            "packages",
            "no_base",
            "image_size",
            "image_extra_size",
            "checksum",
            "cache_dir",
        ),
    )
    p.add_argument("elements", nargs="+", metavar="ELEMENT")
    p.set_defaults(boot_test=None)
    return p
