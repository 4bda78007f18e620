"""Output conversions: the raw disk, the root tree or the step layers -> deployable files.

Pure functions called by the convert tasks (which own caching and keys):
`convert_disk` (raw, qcow2, vmdk, vhd, vhdx), `tar_tree` (tar, tgz), `squashfs`,
`docker_archive` (docker-archive + OCI layout from overlayfs upper directories) and
`write_checksums`. Every output is written beside its destination and renamed into place.
"""

from dibdo.convert.checksums import write_checksums
from dibdo.convert.disk import convert_disk
from dibdo.convert.docker import DockerConfig, docker_archive
from dibdo.convert.formats import Format, parse_format, parse_formats
from dibdo.convert.layer import LayerDigest, write_layer
from dibdo.convert.tree import squashfs, tar_tree

__all__ = [
    "DockerConfig",
    "Format",
    "LayerDigest",
    "convert_disk",
    "docker_archive",
    "parse_format",
    "parse_formats",
    "squashfs",
    "tar_tree",
    "write_checksums",
    "write_layer",
]
