"""Tests for dibdo.boot: real qemu boots of a one-sector disk that prints to the serial port.

The probe disk boots in well under a second under TCG, so these prove serial capture, pattern
order, timing, timeouts and cleanup without a real image (the lead's end-to-end test boots
debian-minimal).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from dibdo.boot import boot_sector, boot_test, boot_test_main, probe_kvm, write_probe_disk
from dibdo.boot._qemu import qemu_argv
from dibdo.boot.kvm import MARKER, host_key
from dibdo.errors import ConfigError
from dibdo.run import output


def _disk(tmp_path: Path, message: str = MARKER) -> Path:
    disk = tmp_path / "probe.raw"
    write_probe_disk(disk, message)
    return disk


def _qemu_processes() -> list[str]:
    out = output(["ps", "-eo", "pid,args"])
    return [line for line in out.splitlines() if "qemu-system" in line and "probe.raw" in line]


def test_boot_sector_is_one_bootable_sector() -> None:
    sector = boot_sector("hi")
    assert len(sector) == 512 and sector.endswith(b"\x55\xaa")
    assert b"hi\r\n\0" in sector


def test_boot_test_sees_the_marker_on_the_serial_console(tmp_path: Path) -> None:
    log = tmp_path / "serial.log"
    result = boot_test(
        _disk(tmp_path), serial_log=log, expect=(MARKER,), timeout=30, accel="tcg", memory_mb=64
    )
    assert result.ok and result.accel == "tcg" and result.reason == ""
    assert result.seconds_to_login is not None and result.seconds_to_login < 30
    assert result.seconds_to_kernel is None
    assert MARKER in log.read_text()
    assert _qemu_processes() == []


def test_boot_test_times_the_kernel_and_the_patterns_in_order(tmp_path: Path) -> None:
    disk = _disk(tmp_path, "Linux version 6.1.0 (fake) ... debian login: ")
    result = boot_test(
        disk, serial_log=tmp_path / "s.log", expect=("Linux", r"\w+ login:"), accel="tcg"
    )
    assert result.ok and result.seconds_to_kernel is not None
    assert (
        result.seconds_to_login is not None and result.seconds_to_login >= result.seconds_to_kernel
    )


def test_patterns_out_of_order_do_not_match(tmp_path: Path) -> None:
    disk = _disk(tmp_path, "login: then Linux version 6")
    result = boot_test(
        disk, serial_log=tmp_path / "s.log", expect=("Linux", "login:"), timeout=3, accel="tcg"
    )
    assert not result.ok


def test_a_missing_pattern_times_out_quickly_and_stops_qemu(tmp_path: Path) -> None:
    start = time.monotonic()
    result = boot_test(
        _disk(tmp_path), serial_log=tmp_path / "s.log", expect=("never",), timeout=2, accel="tcg"
    )
    assert not result.ok and "timed out" in result.reason
    assert time.monotonic() - start < 10
    assert MARKER in result.tail and "terminating on signal" not in result.tail
    assert _qemu_processes() == []


def test_qemu_failing_to_start_is_reported_with_its_message(tmp_path: Path) -> None:
    disk = _disk(tmp_path)
    result = boot_test(disk, serial_log=tmp_path / "s.log", fmt="qcow2", timeout=30, accel="tcg")
    assert not result.ok and "exited with status" in result.reason
    assert "qemu:" in result.tail and "qcow2" in result.tail


def test_unknown_accelerator_and_missing_image_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        boot_test(_disk(tmp_path), serial_log=tmp_path / "s.log", accel="xen")
    with pytest.raises(ConfigError):
        boot_test(tmp_path / "nope.qcow2", serial_log=tmp_path / "s.log", accel="tcg")


def test_kvm_boots_use_the_host_cpu_and_snapshot(tmp_path: Path) -> None:
    argv = qemu_argv(
        tmp_path / "a,b.qcow2", fmt="qcow2", accel="kvm", serial_log=tmp_path / "s", memory_mb=512
    )
    assert argv[argv.index("-accel") + 1] == "kvm" and argv[argv.index("-cpu") + 1] == "host"
    assert "-snapshot" in argv and argv[argv.index("-nic") + 1] == "none"
    assert f"file={tmp_path}/a,,b.qcow2,format=qcow2,if=virtio" in argv


def test_uefi_boot_runs_ovmf_with_a_private_vars_copy(tmp_path: Path) -> None:
    result = boot_test(
        _disk(tmp_path), serial_log=tmp_path / "s.log", expect=("BdsDxe",), timeout=60,
        uefi=True, accel="tcg", memory_mb=256,
    )  # fmt: skip
    assert result.ok, result.tail
    assert _qemu_processes() == []


def test_boot_test_main_prints_times_and_log_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = _disk(tmp_path, "Linux version 6 ... host login: ")
    status = boot_test_main(disk, timeout=30, expect=(), log=None, accel="tcg")
    out = capsys.readouterr().out
    assert status == 0 and "login prompt after" in out and "kernel started after" in out
    assert f"serial log: {disk}.serial.log" in out


def test_boot_test_main_fails_with_the_log_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = boot_test_main(
        _disk(tmp_path), timeout=2, expect=("never",), log=tmp_path / "l", accel="tcg"
    )
    assert status == 1 and MARKER in capsys.readouterr().err


def test_kvm_probe_answer_is_read_from_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "kvm.json"
    cache.write_text(json.dumps({host_key(): True}))
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        assert probe_kvm(cache=cache) is True  # believed, not probed again
    cache.write_text(json.dumps({host_key(): False}))
    assert probe_kvm(cache=cache) is False


@pytest.mark.root
def test_kvm_probe_is_quick_and_cached_per_host(tmp_path: Path) -> None:
    cache = tmp_path / "kvm.json"
    start = time.monotonic()
    usable = probe_kvm(cache=cache, timeout=5)
    assert time.monotonic() - start < 15
    if os.path.exists("/dev/kvm"):
        assert json.loads(cache.read_text()) == {host_key(): usable}
    assert _qemu_processes() == []
