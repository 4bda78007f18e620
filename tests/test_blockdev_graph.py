"""The runner: dependency order in, reverse order out, rollback when a node fails on cue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dibdo.blockdev.graph import Runner
from dibdo.blockdev.results import BlockDev, Result
from dibdo.blockdev.schema import Need, Role
from dibdo.errors import DeviceError

ANY = frozenset(Role)


@dataclass(frozen=True)
class FakeSpec:
    name: str
    bases: tuple[str, ...] = ()
    path: str = ""

    def needs(self) -> tuple[Need, ...]:
        return tuple(Need(b, ANY, f"{self.name}.base") for b in self.bases)

    def provides(self) -> tuple[tuple[str, Role], ...]:
        return ((self.name, Role.DEVICE),)

    def to_yaml(self) -> dict[str, Any]:
        return {}


@dataclass
class FakeNode:
    spec: FakeSpec
    log: list[str]
    fail: str = ""
    seen: dict[str, list[str]] = field(default_factory=dict)

    def _do(self, phase: str) -> None:
        self.log.append(f"{phase} {self.spec.name}")
        if phase == self.fail:
            raise DeviceError(f"{self.spec.name} failed on cue")

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]:
        self.seen["inputs"] = sorted(inputs)
        self._do("create")
        return {self.spec.name: BlockDev(self.spec.name, Path("/dev/null"), 0, 0)}

    def umount(self) -> None:
        self._do("umount")

    def cleanup(self) -> None:
        self._do("cleanup")

    def delete(self) -> None:
        self._do("delete")


def _nodes(log: list[str], fail: dict[str, str] | None = None) -> list[FakeNode]:
    specs = [
        FakeSpec("mount", ("fs",)),
        FakeSpec("fs", ("part",)),
        FakeSpec("disk"),
        FakeSpec("part", ("disk",)),
    ]
    return [FakeNode(s, log, (fail or {}).get(s.name, "")) for s in specs]


def test_nodes_run_in_dependency_order_and_are_released_in_reverse() -> None:
    log: list[str] = []
    with Runner(_nodes(log)):
        log.append("body")
    assert log == [
        "create disk",
        "create part",
        "create fs",
        "create mount",
        "body",
        "umount mount",
        "umount fs",
        "umount part",
        "umount disk",
        "cleanup mount",
        "cleanup fs",
        "cleanup part",
        "cleanup disk",
    ]


def test_a_node_failing_halfway_deletes_what_was_made_in_reverse() -> None:
    log: list[str] = []
    nodes = _nodes(log, {"fs": "create"})
    with pytest.raises(DeviceError, match="fs failed on cue"), Runner(nodes):
        log.append("body")
    assert log == [
        "create disk",
        "create part",
        "create fs",
        "delete fs",
        "delete part",
        "delete disk",
    ]


def test_an_exception_in_the_body_deletes_instead_of_unmounting() -> None:
    log: list[str] = []
    with pytest.raises(RuntimeError), Runner(_nodes(log)):
        raise RuntimeError("finalise failed")
    assert log[4:] == ["delete mount", "delete fs", "delete part", "delete disk"]


def test_one_failing_release_does_not_stop_the_others() -> None:
    log: list[str] = []
    with (
        pytest.raises(DeviceError, match="umount part: part failed on cue"),
        Runner(_nodes(log, {"part": "umount"})),
    ):
        pass
    assert "umount disk" in log and "cleanup disk" in log


def test_each_node_receives_only_the_results_it_needs() -> None:
    log: list[str] = []
    nodes = _nodes(log)
    with Runner(nodes) as results:
        assert sorted(results) == ["disk", "fs", "mount", "part"]
    assert nodes[0].seen["inputs"] == ["fs"] and nodes[2].seen["inputs"] == []


def test_extra_ordering_edges_are_honoured() -> None:
    log: list[str] = []
    nodes = [FakeNode(FakeSpec("b"), log), FakeNode(FakeSpec("a"), log)]
    with Runner(nodes, after={"b": ["a"]}):
        pass
    assert log[:2] == ["create a", "create b"]
