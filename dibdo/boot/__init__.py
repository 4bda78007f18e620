"""Boot testing: boot an image in qemu, wait for its login prompt, report the timings.

`boot_test` (check.py) does one boot; `probe_kvm` (kvm.py) decides, once per host, whether
KVM really works; `boot_test_main` (cli.py) is the `dibdo boot-test` command.
"""

from dibdo.boot.check import BootResult, boot_test, image_format
from dibdo.boot.cli import boot_test_main
from dibdo.boot.kvm import boot_sector, probe_kvm, write_probe_disk

__all__ = [
    "BootResult",
    "boot_sector",
    "boot_test",
    "boot_test_main",
    "image_format",
    "probe_kvm",
    "write_probe_disk",
]
