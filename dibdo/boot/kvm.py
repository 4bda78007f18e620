"""Is KVM usable here? A real probe, cached per host.

`/dev/kvm` existing proves little: on some hosts (nested virtualisation without the needed
features) `-cpu host` aborts on an MSR write, and the default CPU model boots firmware but
hangs in the kernel. So the probe boots a one-sector disk under `-accel kvm -cpu host`,
exactly as a boot test would run, and waits a few seconds for the sector's message on the
serial port. The answer is cached in a small JSON file keyed by kernel release, qemu
version and CPU model, so only the first boot test on a host pays for it.

The boot sector is hand-written 16-bit code (why: it needs no assembler and boots in a
fraction of a second under TCG, so tests use it too). It does not set up the serial port
(qemu's UART sends what is written to it regardless), does not use the BIOS, and halts.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from dibdo import log
from dibdo.boot._qemu import QEMU, qemu_argv, watch
from dibdo.run import output

MARKER = "dibdo-probe-ok"
_PROBE_VERSION = 1
_SECTOR = 512
_LOAD_ADDRESS = 0x7C00


def boot_sector(message: str = MARKER) -> bytes:
    """A BIOS boot sector that writes `message` and CR LF to COM1, then halts."""
    head = bytes.fromhex(
        "31c0"  # xor ax, ax
        "8ed8"  # mov ds, ax
    )  # then: mov si, <address of message>
    tail = bytes.fromhex(
        "baf803"  # mov dx, 0x3f8 (COM1)
        "fc"  # cld
        "ac"  # next: lodsb
        "84c0"  # test al, al
        "7403"  # jz done
        "ee"  # out dx, al
        "ebf8"  # jmp next
        "fa"  # done: cli
        "f4"  # halt: hlt
        "ebfd"  # jmp halt
    )
    address = _LOAD_ADDRESS + len(head) + 3 + len(tail)
    code = head + b"\xbe" + address.to_bytes(2, "little") + tail
    body = code + message.encode("ascii") + b"\r\n\0"
    if len(body) > _SECTOR - 2:
        raise ValueError("boot sector message too long")
    return body.ljust(_SECTOR - 2, b"\0") + b"\x55\xaa"


def write_probe_disk(dest: Path, message: str = MARKER) -> None:
    """A 1 MiB raw disk whose first sector is `boot_sector(message)` (firmware wants a disk
    larger than one sector)."""
    with open(dest, "wb") as fh:
        fh.write(boot_sector(message))
        fh.truncate(1 << 20)


def probe_kvm(*, cache: Path | None = None, timeout: float = 5.0) -> bool:
    """True when KVM really runs guest code here; the answer is cached per host."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    path = cache or default_cache()
    key = host_key()
    known = _read_cache(path)
    if key in known:
        return bool(known[key])
    usable = _probe(timeout)
    _write_cache(path, {**known, key: usable})
    log.info(f"KVM {'works' if usable else 'is not usable'} on this host (probe cached)")
    return usable


def default_cache() -> Path:
    """Where probe results live unless the caller says otherwise."""
    return Path.home() / ".cache" / "dibdo" / "kvm-probe.json"


def host_key() -> str:
    """What the answer depends on: the kernel, qemu and the CPU."""
    qemu = output([QEMU, "--version"]).splitlines()[0]
    return f"v{_PROBE_VERSION}|{os.uname().release}|{qemu}|{_cpu_model()}"


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown"
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return models[0] if models else "unknown"


def _probe(timeout: float) -> bool:
    with tempfile.TemporaryDirectory(prefix="dibdo-kvm-probe-") as tmp:
        disk, serial = Path(tmp) / "probe.raw", Path(tmp) / "serial.log"
        write_probe_disk(disk)
        argv = qemu_argv(disk, fmt="raw", accel="kvm", serial_log=serial, memory_mb=64)
        seen = watch(argv, serial_log=serial, expect=(MARKER,), timeout=timeout)
    if not seen.ok:
        log.debug(f"KVM probe failed: {seen.reason}: {seen.qemu_output.strip()[-300:]}")
    return seen.ok


def _read_cache(path: Path) -> dict[str, bool]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, bool)} if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict[str, bool]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)
