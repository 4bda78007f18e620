"""`docker_archive`: a container image built from dibdo's step layers, no daemon needed.

The archive is both a docker-archive (`manifest.json`, read by `docker load`, `podman
load` and `skopeo ... docker-archive:`) and an OCI image layout (`oci-layout`,
`index.json`), sharing one set of blobs, the way `docker save` writes it since docker 25:

    oci-layout                  {"imageLayoutVersion": "1.0.0"}
    blobs/sha256/<hex>          each distinct layer tar, the config, the OCI manifest
    index.json                  OCI index -> the OCI manifest
    manifest.json               [{"Config", "RepoTags", "Layers"}] for docker load

Layers are uncompressed tars written by `dibdo.convert.layer.write_layer`, one per step
layer (lowest first), so a layer's digest is its diff_id and two images that share a base
share those layer blobs. Layer tars are staged in a temp directory beside `dest`, removed
when the archive is written or has failed.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dibdo.convert._staging import scratch_dir, staged
from dibdo.convert.layer import LayerDigest, write_layer
from dibdo.errors import ConfigError

_OCI = "application/vnd.oci.image"
_DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# DIB/uname architecture names -> (GOARCH, variant) as the image spec spells them.
_ARCHES = {
    "x86_64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armhf": ("arm", "v7"), "armv7l": ("arm", "v7"),
    "i386": ("386", ""), "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""), "ppc64el": ("ppc64le", ""), "s390x": ("s390x", ""),
}  # fmt: skip


@dataclass(frozen=True)
class DockerConfig:
    """What the image config says: its name, platform, default command and environment.

    `env` holds `NAME=value` strings; `history` one `created_by` text per layer (optional).
    """

    repo_tag: str
    arch: str = "amd64"
    cmd: tuple[str, ...] = ("/bin/bash",)
    env: tuple[str, ...] = (_DEFAULT_PATH,)
    history: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.arch not in _ARCHES:
            raise ConfigError(
                f"no container architecture for {self.arch!r}",
                hint=f"one of: {', '.join(sorted(_ARCHES))}",
            )
        bad = [item for item in self.env if "=" not in item]
        if bad:
            raise ConfigError(f"container environment entries need NAME=value: {bad}")
        if not self.repo_tag or self.repo_tag != self.repo_tag.strip():
            raise ConfigError(f"bad container image name {self.repo_tag!r}")

    @property
    def tagged(self) -> str:
        """`repo:tag`, with `latest` when no tag was given."""
        last = self.repo_tag.rsplit("/", 1)[-1]
        return self.repo_tag if ":" in last else f"{self.repo_tag}:latest"


@dataclass(frozen=True)
class _Blob:
    digest: str
    size: int
    path: Path | None = None
    data: bytes = b""

    @property
    def name(self) -> str:
        return "blobs/" + self.digest.replace(":", "/")

    def descriptor(self, media_type: str) -> dict[str, Any]:
        return {"mediaType": media_type, "digest": self.digest, "size": self.size}


def docker_archive(layers: Sequence[Path], dest: Path, *, config: DockerConfig) -> None:
    """Write the image made of the upper directories `layers` (lowest first) to `dest`."""
    if not layers:
        raise ConfigError("a container image needs at least one layer")
    if config.history and len(config.history) != len(layers):
        raise ConfigError(f"{len(config.history)} history entries for {len(layers)} layers")
    with scratch_dir(dest) as tmp, staged(dest) as part:
        blobs = [_layer_blob(upper, tmp / f"layer-{i}.tar") for i, upper in enumerate(layers)]
        cfg = _json_blob(config_json(config, [b.digest for b in blobs]))
        manifest = _json_blob(_oci_manifest(cfg, blobs))
        _write_archive(part, config, blobs, cfg, manifest)


def _layer_blob(upper: Path, path: Path) -> _Blob:
    with open(path, "wb") as out:
        layer: LayerDigest = write_layer(upper, out)
    return _Blob(layer.digest, layer.size, path=path)


def _json_blob(obj: object) -> _Blob:
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    return _Blob(_sha256(data), len(data), data=data)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_json(config: DockerConfig, diff_ids: Sequence[str]) -> dict[str, Any]:
    """The image config (the same document for docker and OCI)."""
    arch, variant = _ARCHES[config.arch]
    history = config.history or tuple(f"dibdo layer {i}" for i in range(len(diff_ids)))
    doc: dict[str, Any] = {
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": list(config.cmd), "Env": list(config.env)},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created_by": text} for text in history],
    }
    if variant:
        doc["variant"] = variant
    return doc


def _oci_manifest(cfg: _Blob, layers: Sequence[_Blob]) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": f"{_OCI}.manifest.v1+json",
        "config": cfg.descriptor(f"{_OCI}.config.v1+json"),
        "layers": [layer.descriptor(f"{_OCI}.layer.v1.tar") for layer in layers],
    }


def _write_archive(
    part: Path, config: DockerConfig, layers: list[_Blob], cfg: _Blob, manifest: _Blob
) -> None:
    tag = config.tagged.rsplit(":", 1)[1]
    index = {
        "schemaVersion": 2,
        "mediaType": f"{_OCI}.index.v1+json",
        "manifests": [
            {
                **manifest.descriptor(f"{_OCI}.manifest.v1+json"),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    docker_manifest = [
        {"Config": cfg.name, "RepoTags": [config.tagged], "Layers": [b.name for b in layers]}
    ]
    unique = list({b.digest: b for b in [*layers, cfg, manifest]}.values())
    with tarfile.open(part, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        for blob in unique:
            _add_blob(tar, blob)
        _add_bytes(tar, "index.json", _json_blob(index).data)
        _add_bytes(tar, "manifest.json", _json_blob(docker_manifest).data)


def _info(name: str, *, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o755 if directory else 0o644
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    return info


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    tar.addfile(_info(name, directory=True))


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, size=len(data)), io.BytesIO(data))


def _add_blob(tar: tarfile.TarFile, blob: _Blob) -> None:
    if blob.path is None:
        _add_bytes(tar, blob.name, blob.data)
        return
    with open(blob.path, "rb") as fh:
        tar.addfile(_info(blob.name, size=blob.size), fh)
