"""`dibdo explain`: for each task of a build, up to date, or why it would run."""

from __future__ import annotations

import argparse

from dibdo import config as cfg
from dibdo.commands.build import spec_from_args
from dibdo.tasks.explain import reasons
from dibdo.tasks.plan import make_plan
from dibdo.tasks.session_stack import build_session


def explain_main(args: argparse.Namespace) -> int:
    config = cfg.load(args)
    spec = spec_from_args(args, config)
    with build_session(config, [spec]) as builds:
        build = builds[0]
        for step in make_plan(build).all:
            why = reasons(build, step)
            state = "up to date" if not why else "would run: " + "; ".join(why)
            print(f"{step.name:50} {state}")
    return 0
