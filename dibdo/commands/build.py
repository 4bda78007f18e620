"""`dibdo build` (and `disk-image-create`): one ad hoc image through the task generator."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dibdo import config as cfg
from dibdo import log
from dibdo.convert import parse_formats
from dibdo.errors import StepFailed, die
from dibdo.tasks.build import Build, ImageSpec
from dibdo.tasks.runner import run_images
from dibdo.tasks.session_stack import build_session, install_signal_handlers


def spec_from_args(args: argparse.Namespace, config: cfg.Config) -> ImageSpec:
    output = Path(args.output or "image").absolute()
    formats = tuple(f.value for f in parse_formats(",".join(config.formats)))
    return ImageSpec(
        name=output.name,
        elements=tuple(args.elements),
        formats=formats,
        output=output,
        packages=config.packages,
        no_base=config.no_base,
        boot_test=config.boot_test,
        report=args.report,
    )


def build_main(args: argparse.Namespace) -> int:
    install_signal_handlers()
    config = cfg.load(args)
    spec = spec_from_args(args, config)
    with build_session(config, [spec]) as builds:
        rc = run_images(builds)
        build = builds[0]
        report = spec.report or spec.output.with_name(f"{spec.output.name}.report.json")
        build.report.write(report)
        log.info(build.report.summary())
    return finish(build, rc, report)


def finish(build: Build, rc: int, report: Path) -> int:
    """Say how the build ended: the outputs with their sizes, or the error."""
    error = build.report.extra.get("error")
    if rc != 0:
        if error:
            die(f"{error['task']}: {error['message']}", hint=error.get("hint", ""))
        die("the build failed", hint=f"see the report: {report}")
    for out in build.report.outputs:
        print(f"{out} ({os.path.getsize(out) / 2**20:.0f} MiB)")
    if build.spec.boot_test:
        return _boot_test(build)
    return 0


def _boot_test(build: Build) -> int:
    from dibdo.boot import boot_test_main

    images = [Path(o) for o in build.report.outputs if o.endswith((".qcow2", ".raw"))]
    if not images:
        raise StepFailed("--boot-test needs a qcow2 or raw output")
    return boot_test_main(images[0], timeout=600, expect=(), log=None)
