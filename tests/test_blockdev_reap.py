"""What a SIGKILLed build leaves of its disk is undone from its journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from blockdev_fixtures import LVM_YAML, make_tree

from dibdo.blockdev.reap import reap, undo

ROOT = Path(__file__).resolve().parent.parent

BUILD = """
import sys, time
from pathlib import Path
from dibdo.blockdev import BlockDevice, load, measure, disk_size
from dibdo.journal import Journal
work, text = Path(sys.argv[1]), Path(sys.argv[2]).read_text()
config = load(text)
size = disk_size(config, measure(work / "tree", ["/", "/var"]), extra_size=0.02)
with BlockDevice(config, work / "disk.raw", size=size, mount_root=work / "mnt",
                 journal=Journal(work / "journal.jsonl"), tree=work / "tree"):
    print("ready", flush=True)
    time.sleep(600)
"""


def test_records_that_no_longer_stand_are_left_alone(tmp_path: Path) -> None:
    assert undo({"kind": "loop", "device": "/dev/loop999", "backing": str(tmp_path)}) is None
    assert undo({"kind": "mount", "path": str(tmp_path / "not-mounted")}) is None
    assert undo({"kind": "dir", "path": str(tmp_path)}) is None
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps({"kind": "partx", "device": "/dev/sda"}) + "\nnot json\n")
    assert reap(journal) == []


@pytest.mark.root
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root and loop devices")
def test_reap_undoes_what_a_killed_build_left(tmp_path: Path) -> None:
    make_tree(tmp_path / "tree")
    (tmp_path / "mnt").mkdir()
    (tmp_path / "lvm.yaml").write_text(LVM_YAML)
    argv = [sys.executable, "-c", BUILD, str(tmp_path), str(tmp_path / "lvm.yaml")]
    with subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        finally:
            proc.send_signal(signal.SIGKILL)
    done = reap(tmp_path / "journal.jsonl")
    assert done[:2] == [f"unmounted {tmp_path}/mnt/var", f"unmounted {tmp_path}/mnt"]
    assert sum(line.startswith("detached /dev/loop") for line in done) == 3
    assert any(line.startswith("removed the partition nodes") for line in done)
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in loops and str(tmp_path) not in Path("/proc/mounts").read_text()
