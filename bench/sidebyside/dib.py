"""diskimage-builder for the comparison: set up on first use, run, and cleaned up after.

What DIB needs on this machine, beyond `pip install diskimage-builder` (all for DIB's runs
only; dibdo needs none of it, and DIB's own code is never changed):

1. `sudo`: DIB calls it for every privileged command, even as root (Debian package `sudo`).
2. `DIB_DEBIAN_SECURITY_MIRROR`: the debian-minimal element's default security archive is a
   host of its own that this machine cannot reach; we point it at the `debian-security`
   path of the main archive host (debootstrap's `DEF_MIRROR` + `-security`).
3. `kpartx`/`dmsetup` stand-ins (bench/dib-shims/): this kernel has no device-mapper, so
   DIB's `kpartx -a` cannot map partitions. The stand-ins ask the kernel for its own
   partition nodes with `partx -a` (/dev/loopNpM) and link them where DIB looks
   (/dev/mapper/loopNpM); `kpartx -d` and `dmsetup remove` undo that, `dmsetup mknodes`
   has nothing to do (DIB calls it because this machine has a /.dockerenv).
4. Found by trying: a `sudo` stand-in in the same directory. The real sudo looks a command
   up on sudoers' `secure_path`, ignoring the caller's PATH, so DIB's `sudo kpartx` would
   find the real kpartx; the stand-in resolves the command on DIB's PATH (stand-ins first)
   and hands it to the real sudo by absolute path. sudoers is left as it is.

Settings: `DIB_RELEASE=bookworm` (DIB's default, `stable`, would be another release than
dibdo's), the mirror as above, `DIB_IMAGE_CACHE` and `TMPDIR` inside the bench directory,
and DIB's own caching switched on as its documentation suggests for repeated builds
(`DIB_DEBOOTSTRAP_CACHE=1`, `DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE=1`: the bootstrapped tree is
kept as a tarball; DIB's apt cache of .deb files is on by default). DIB uses mmdebstrap
when the host has it (dibdo's setup installs it). Output: `-t qcow2` with DIB's default
compression (`-u` would turn it off).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from dibdo.config import default_mirror, security_mirror_for
from dibdo.run import Arg, run
from sidebyside.measure import Measurement, file_size, measured

DIB_VERSION = "3.43.0"
HOST_PACKAGES = (
    "sudo",
    "debootstrap",
    "mmdebstrap",
    "qemu-utils",
    "util-linux",
    "e2fsprogs",
    "time",
    "python3-venv",
)
SHIMS = Path(__file__).resolve().parent.parent / "dib-shims"
_HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Dib:
    """A DIB install and the directories of its runs (cache, temp) under the bench root."""

    venv: Path
    cache: Path
    tmp: Path
    elements_path: Path

    @property
    def exe(self) -> Path:
        return self.venv / "bin" / "disk-image-create"

    def env(self) -> dict[str, str]:
        mirror = default_mirror()
        return {
            "PATH": f"{SHIMS}:{self.venv / 'bin'}:{_HOST_PATH}",
            "HOME": "/root", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "TMPDIR": os.fspath(self.tmp),
            "ELEMENTS_PATH": os.fspath(self.elements_path),
            "DIB_IMAGE_CACHE": os.fspath(self.cache),
            "DIB_RELEASE": "bookworm",
            "DIB_DISTRIBUTION_MIRROR": mirror,
            "DIB_DEBIAN_SECURITY_MIRROR": security_mirror_for(mirror),
            "DIB_DEBOOTSTRAP_CACHE": "1",
            "DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE": "1",
        }  # fmt: skip

    def clear_cache(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)

    def build(self, elements: tuple[str, ...], output: Path, logfile: Path) -> Measurement:
        """`disk-image-create -t qcow2 -o OUTPUT ELEMENTS...`, measured."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        output.with_suffix(".qcow2").unlink(missing_ok=True)
        argv: list[Arg] = [self.exe, "-t", "qcow2", "-o", output, *elements]
        m = measured(argv, env=self.env(), logfile=logfile)
        return replace(m, image_bytes=file_size(output.with_suffix(".qcow2")))


def setup(root: Path, *, elements_path: Path, environ: Mapping[str, str]) -> Dib:
    """Install DIB's host packages and DIB itself (pinned) on first use; idempotent."""
    install_host_packages(HOST_PACKAGES, environ=environ)
    venv = root / "dib-venv"
    stamp = venv / f".diskimage-builder-{DIB_VERSION}"
    if not stamp.exists():
        print(f"setting up diskimage-builder {DIB_VERSION} in {venv}", flush=True)
        if not (venv / "bin" / "python").exists():
            run(["python3", "-m", "venv", venv], env=environ)
        run(
            [venv / "bin" / "pip", "install", "-q", f"diskimage-builder=={DIB_VERSION}"],
            env=environ,
        )
        stamp.touch()
    return Dib(venv, root / "dib" / "cache", root / "dib" / "tmp", elements_path)


def install_host_packages(names: tuple[str, ...], *, environ: Mapping[str, str]) -> None:
    """`apt-get install` whichever of `names` is missing."""
    missing = [n for n in names if not _installed(n)]
    if not missing:
        return
    print(f"installing Debian packages: {' '.join(missing)}", flush=True)
    env = {**environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)


def _installed(name: str) -> bool:
    result = run(["dpkg-query", "-W", "-f", "${Status}", name], capture=True, check=False)
    return result.stdout.endswith("ok installed")
