"""Running the nodes: dependency order on the way in, reverse order on the way out.

    with Runner(nodes, after=mount_order) as results:   # create() each, in order
        ...                                              # the caller fills the disk
    # block ended normally: umount() each in reverse, then cleanup() each in reverse
    # create() failed or the block raised: delete() each node made so far, in reverse

A node is handed only the results of the names it `needs()`; it returns one frozen result
per name it provides. Each node owns what it made (usually an ExitStack of resources) and
releases it in umount()/delete(); a failing release does not stop the others.
"""

from __future__ import annotations

import contextlib
import graphlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

from dibdo import log
from dibdo.blockdev.results import Result
from dibdo.blockdev.schema import Spec
from dibdo.errors import DeviceError, DibdoError
from dibdo.journal import Journal


@dataclass(frozen=True)
class Context:
    """What every node may read: where the image and the mounts go, the journal, what
    this host can do, and `seed`, from which stable disk and partition GUIDs derive."""

    image: Path
    size: int
    mount_root: Path
    journal: Journal | None = None
    seed: str = ""
    stage_vfat: bool = True
    populate: Mapping[str, Path] = field(default_factory=dict)


class Node(Protocol):
    """One node of the block-device graph at run time."""

    @property
    def spec(self) -> Spec: ...

    def create(self, inputs: Mapping[str, Result]) -> Mapping[str, Result]: ...

    def umount(self) -> None: ...

    def cleanup(self) -> None: ...

    def delete(self) -> None: ...


class NodeBase:
    """A node whose resources are entered into `self.stack`; releasing closes it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.stack = contextlib.ExitStack()

    def umount(self) -> None:
        self.stack.close()

    def cleanup(self) -> None:
        return None

    def delete(self) -> None:
        self.stack.close()


def order(specs: Sequence[Spec], *, after: Mapping[str, Iterable[str]] | None = None) -> list[int]:
    """Indexes of `specs` in dependency order, ties kept in written order.

    Raises graphlib.CycleError (its second argument is the cycle) on a cycle."""
    provider = {name: i for i, spec in enumerate(specs) for name, _ in spec.provides()}
    by_name = {spec.name: i for i, spec in enumerate(specs)}
    sorter: graphlib.TopologicalSorter[int] = graphlib.TopologicalSorter()
    for i, spec in enumerate(specs):
        deps = {provider[n.name] for n in spec.needs() if n.name in provider}
        deps |= {by_name[n] for n in (after or {}).get(spec.name, ()) if n in by_name}
        sorter.add(i, *(deps - {i}))
    sorter.prepare()
    out: list[int] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        out += ready
        sorter.done(*ready)
    return out


class Runner:
    """Creates nodes in dependency order and undoes them in reverse (see the module doc)."""

    def __init__(self, nodes: Sequence[Node], *, after: Mapping[str, Iterable[str]] | None = None):
        self.nodes = [nodes[i] for i in order([n.spec for n in nodes], after=after)]
        self.made: list[Node] = []
        self.results: dict[str, Result] = {}

    def __enter__(self) -> Mapping[str, Result]:
        try:
            for node in self.nodes:
                self.made.append(node)
                wanted = {n.name for n in node.spec.needs()}
                inputs = {k: v for k, v in self.results.items() if k in wanted}
                log.debug(f"creating {node.spec.name}")
                self.results.update(node.create(inputs))
        except BaseException:
            self._undo(("delete",), strict=False)
            raise
        return dict(self.results)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._undo(("umount", "cleanup"), strict=True)
        else:
            self._undo(("delete",), strict=False)

    def _undo(self, phases: tuple[Phase, ...], *, strict: bool) -> None:
        """Run each phase on every made node in reverse; report failures after trying all."""
        made, self.made = self.made, []
        failures: list[str] = []
        for phase in phases:
            for node in reversed(made):
                try:
                    _release(node, phase)
                except (DibdoError, OSError) as exc:
                    message = exc.message if isinstance(exc, DibdoError) else str(exc)
                    failures.append(f"{phase} {node.spec.name}: {message}")
                    log.warn(f"could not {phase} {node.spec.name}: {message}")
        if failures and strict:
            raise DeviceError("could not release the block devices: " + "; ".join(failures))


Phase = Literal["umount", "cleanup", "delete"]


def _release(node: Node, phase: Phase) -> None:
    if phase == "umount":
        node.umount()
    elif phase == "cleanup":
        node.cleanup()
    else:
        node.delete()
