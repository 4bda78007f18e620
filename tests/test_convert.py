"""Tests for dibdo.convert: each output checked by the tool that consumes it."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import pytest

from dibdo.convert import (
    DockerConfig,
    Format,
    convert_disk,
    docker_archive,
    parse_formats,
    squashfs,
    tar_tree,
    write_checksums,
)
from dibdo.convert.docker import config_json
from dibdo.errors import ConfigError, StepFailed
from dibdo.run import output, run

MIB = 1 << 20


def _raw_disk(path: Path, size: int = 20 * MIB) -> Path:
    """A sparse disk with a GPT (two partitions) and some data inside the first one."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    run(["sfdisk", "-q", path], input=b"label: gpt\n,8M\n,\n")
    with open(path, "r+b") as fh:
        fh.seek(2 * MIB)
        fh.write(os.urandom(MIB))
    return path


def _info(image: Path, fmt: str) -> dict[str, object]:
    info: dict[str, object] = json.loads(
        output(["qemu-img", "info", "-f", fmt, "--output=json", image])
    )
    return info


def _same_content(raw: Path, image: Path, fmt: str) -> bool:
    argv: list[str | Path] = ["qemu-img", "compare", "-q", "-f", "raw", "-F", fmt, raw, image]
    return run(argv, check=False).returncode == 0


def _tree(root: Path) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=debian\n")
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/a").write_text("a\n")
    os.link(root / "usr/bin/a", root / "usr/bin/b")
    (root / "usr/bin/c").symlink_to("a")
    (root / "usr/bin/a").chmod(0o4755)
    return root


def test_parse_formats_keeps_order_and_drops_duplicates() -> None:
    assert parse_formats("qcow2,raw,tar,qcow2") == (Format.QCOW2, Format.RAW, Format.TAR)
    assert parse_formats("docker, TGZ") == (Format.DOCKER, Format.TGZ)


def test_parse_formats_names_the_unknown_format_and_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        parse_formats("qcow2,iso9660")
    assert "iso9660" in err.value.message
    assert "qcow2" in err.value.hint and "squashfs" in err.value.hint


def test_each_format_has_one_source_and_a_suffix() -> None:
    for fmt in Format:
        assert [fmt.needs_disk, fmt.needs_tree, fmt.needs_layers].count(True) == 1
    assert Format.DOCKER.suffix == "docker.tar" and Format.VHD.suffix == "vhd"


_QEMU_NAMES = [(Format.QCOW2, "qcow2"), (Format.VMDK, "vmdk"), (Format.VHDX, "vhdx")]


@pytest.mark.parametrize(("fmt", "qemu_fmt"), _QEMU_NAMES)
def test_converted_disk_passes_qemu_img_check_and_keeps_content(
    tmp_path: Path, fmt: Format, qemu_fmt: str
) -> None:
    raw = _raw_disk(tmp_path / "disk.raw")
    dest = tmp_path / f"disk.{fmt.suffix}"
    convert_disk(raw, fmt, dest)
    assert _info(dest, qemu_fmt)["virtual-size"] == 20 * MIB
    run(["qemu-img", "check", "-f", qemu_fmt, dest])
    assert _same_content(raw, dest, qemu_fmt)


def test_compressed_qcow2_is_smaller_and_same_content(tmp_path: Path) -> None:
    raw = _raw_disk(tmp_path / "disk.raw")
    (tmp_path / "zeros").write_bytes(bytes(MIB))
    run(["dd", f"if={tmp_path / 'zeros'}", f"of={raw}", "bs=1M", "seek=10", "conv=notrunc"])
    with open(raw, "r+b") as fh:  # a compressible MiB of text
        fh.seek(12 * MIB)
        fh.write(b"dibdo " * (MIB // 6))
    convert_disk(raw, Format.QCOW2, tmp_path / "plain.qcow2")
    convert_disk(raw, Format.QCOW2, tmp_path / "small.qcow2", compress=True)
    assert (tmp_path / "small.qcow2").stat().st_size < (tmp_path / "plain.qcow2").stat().st_size
    assert _same_content(raw, tmp_path / "small.qcow2", "qcow2")


def test_vmdk_is_stream_optimized_when_asked(tmp_path: Path) -> None:
    raw = _raw_disk(tmp_path / "disk.raw")
    dest = tmp_path / "disk.vmdk"
    convert_disk(raw, Format.VMDK, dest, options={"subformat": "streamOptimized"})
    assert "streamOptimized" in json.dumps(_info(dest, "vmdk"))
    assert _same_content(raw, dest, "vmdk")


def test_vhd_is_fixed_and_rounded_up_to_a_whole_mib(tmp_path: Path) -> None:
    raw = _raw_disk(tmp_path / "disk.raw", size=20 * MIB + 4096)
    dest = tmp_path / "disk.vhd"
    convert_disk(raw, Format.VHD, dest)
    assert _info(dest, "vpc")["virtual-size"] == 21 * MIB
    assert dest.stat().st_size == 21 * MIB + 512  # fixed: the data, then a 512-byte footer
    assert _same_content(raw, dest, "vpc")
    assert raw.stat().st_size == 20 * MIB + 4096  # padding happened on a copy
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.raw", "disk.vhd"]


def test_raw_output_is_a_sparse_copy(tmp_path: Path) -> None:
    raw = _raw_disk(tmp_path / "disk.raw")
    dest = tmp_path / "out/img.raw"
    convert_disk(raw, Format.RAW, dest)
    assert dest.read_bytes() == raw.read_bytes()
    assert dest.stat().st_blocks * 512 < 4 * MIB
    assert dest.stat().st_mode & 0o777 == 0o644


def test_compression_is_refused_for_vhd(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        convert_disk(tmp_path / "disk.raw", Format.VHD, tmp_path / "x.vhd", compress=True)


def test_failed_conversion_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(StepFailed):
        convert_disk(tmp_path / "missing.raw", Format.QCOW2, tmp_path / "out/x.qcow2")
    assert list((tmp_path / "out").iterdir()) == []


def test_tar_keeps_links_modes_and_dot_slash_names(tmp_path: Path) -> None:
    root = _tree(tmp_path / "root")
    tar_tree(root, tmp_path / "img.tar", compress=False)
    names = output(["tar", "-tf", tmp_path / "img.tar"]).splitlines()
    assert "./etc/os-release" in names and names == sorted(names)
    with tarfile.open(tmp_path / "img.tar") as tar:
        assert tar.getmember("./usr/bin/b").islnk()
        assert tar.getmember("./usr/bin/c").linkname == "a"
        assert tar.getmember("./usr/bin/a").mode == 0o4755


def test_tar_of_the_same_tree_is_byte_identical(tmp_path: Path) -> None:
    root = _tree(tmp_path / "root")
    os.setxattr(root / "etc/os-release", "user.dibdo", b"1")
    tar_tree(root, tmp_path / "a.tar", compress=False)
    tar_tree(root, tmp_path / "b.tar", compress=False)
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_tgz_is_gzip_and_lists_with_tar(tmp_path: Path) -> None:
    root = _tree(tmp_path / "root")
    tar_tree(root, tmp_path / "img.tgz", compress=True)
    assert (tmp_path / "img.tgz").read_bytes()[:2] == b"\x1f\x8b"
    assert "./etc/os-release" in output(["tar", "-tzf", tmp_path / "img.tgz"]).splitlines()


@pytest.mark.root
def test_tar_keeps_numeric_owners_devices_and_capabilities(tmp_path: Path) -> None:
    root = _tree(tmp_path / "root")
    os.chown(root / "etc/os-release", 4321, 8765)
    os.mknod(root / "null", 0o666 | 0o020000, os.makedev(1, 3))
    cap = bytes.fromhex("0100000200200000000000000000000000000000")
    os.setxattr(root / "usr/bin/a", "security.capability", cap)
    tar_tree(root, tmp_path / "img.tar", compress=False)
    with tarfile.open(tmp_path / "img.tar") as tar:
        member = tar.getmember("./etc/os-release")
        assert (member.uid, member.gid, member.uname) == (4321, 8765, "")
        assert tar.getmember("./null").ischr() and tar.getmember("./null").devminor == 3
        assert "SCHILY.xattr.security.capability" in tar.getmember("./usr/bin/a").pax_headers


def test_squashfs_lists_the_tree_with_unsquashfs(tmp_path: Path) -> None:
    root = _tree(tmp_path / "root")
    squashfs(root, tmp_path / "img.squashfs")
    listing = output(["unsquashfs", "-l", tmp_path / "img.squashfs"])
    assert "squashfs-root/etc/os-release" in listing.splitlines()
    assert "Compression zstd" in output(["unsquashfs", "-s", tmp_path / "img.squashfs"])


def test_checksums_verify_with_md5sum_and_sha256sum(tmp_path: Path) -> None:
    image = tmp_path / "img.qcow2"
    image.write_bytes(os.urandom(3 * MIB + 7))
    md5, sha = write_checksums(image)
    assert (md5.name, sha.name) == ("img.qcow2.md5", "img.qcow2.sha256")
    run(["md5sum", "--strict", "-c", md5.name], cwd=tmp_path)
    run(["sha256sum", "--strict", "-c", sha.name], cwd=tmp_path)
    image.write_bytes(b"changed")
    assert run(["sha256sum", "-c", sha.name], cwd=tmp_path, check=False).returncode == 1


def _layers(tmp_path: Path) -> tuple[Path, Path]:
    base, top = tmp_path / "layer0", tmp_path / "layer1"
    _tree(base)
    (base / "opt/old").mkdir(parents=True)
    (base / "opt/old/file").write_text("old\n")
    (top / "etc").mkdir(parents=True)
    (top / "etc/motd").write_text("hello\n")
    return base, top


def _blobs(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
        return {name: fh.read() for name, fh in files.items() if fh is not None}


def _layer_members(blob: bytes, tmp_path: Path) -> dict[str, tarfile.TarInfo]:
    (tmp_path / "layer.tar").write_bytes(blob)
    with tarfile.open(tmp_path / "layer.tar") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_docker_archive_is_read_by_skopeo_with_matching_digests(tmp_path: Path) -> None:
    archive = tmp_path / "img.docker.tar"
    docker_archive(_layers(tmp_path), archive, config=DockerConfig("dibdo/test"))
    inspected = json.loads(output(["skopeo", "inspect", f"docker-archive:{archive}"]))
    config = json.loads(output(["skopeo", "inspect", "--config", f"docker-archive:{archive}"]))
    assert inspected["Layers"] == config["rootfs"]["diff_ids"] and len(inspected["Layers"]) == 2
    assert config["config"]["Cmd"] == ["/bin/bash"] and config["architecture"] == "amd64"
    blobs = _blobs(archive)
    manifest = json.loads(blobs["manifest.json"])[0]
    assert manifest["RepoTags"] == ["dibdo/test:latest"]
    for name, digest in zip(manifest["Layers"], config["rootfs"]["diff_ids"], strict=True):
        assert name == "blobs/" + digest.replace(":", "/")
        assert hashlib.sha256(blobs[name]).hexdigest() == digest.split(":")[1]
    # skopeo verifies every blob against its digest when copying.
    run(["skopeo", "copy", "-q", f"docker-archive:{archive}", f"dir:{tmp_path / 'copy'}"])
    run(["skopeo", "inspect", f"oci-archive:{archive}"], capture=True)


def test_images_sharing_a_base_share_its_layer_digest(tmp_path: Path) -> None:
    base, top = _layers(tmp_path)
    other = tmp_path / "other"
    (other / "srv").mkdir(parents=True)
    config = DockerConfig("dibdo/test")
    docker_archive([base, top], tmp_path / "a.tar", config=config)
    docker_archive([base, other], tmp_path / "b.tar", config=config)
    layers_a = json.loads(_blobs(tmp_path / "a.tar")["manifest.json"])[0]["Layers"]
    layers_b = json.loads(_blobs(tmp_path / "b.tar")["manifest.json"])[0]["Layers"]
    assert layers_a[0] == layers_b[0] and layers_a[1] != layers_b[1]


def test_layer_tar_keeps_hard_links_and_has_no_user_names(tmp_path: Path) -> None:
    archive = tmp_path / "img.docker.tar"
    base, _ = _layers(tmp_path)
    docker_archive([base], archive, config=DockerConfig("dibdo/test:1", arch="aarch64"))
    blobs = _blobs(archive)
    layer = json.loads(blobs["manifest.json"])[0]["Layers"][0]
    members = _layer_members(blobs[layer], tmp_path)
    assert members["usr/bin/b"].islnk() and members["usr/bin/b"].linkname == "usr/bin/a"
    assert {m.uname for m in members.values()} == {""}
    names = "etc etc/os-release opt opt/old opt/old/file usr usr/bin usr/bin/a usr/bin/b usr/bin/c"
    assert list(members) == names.split()


def test_config_names_arm64_with_its_variant() -> None:
    doc = config_json(DockerConfig("x", arch="aarch64", env=("A=1",)), ["sha256:00"])
    assert (doc["architecture"], doc["variant"]) == ("arm64", "v8")
    assert doc["config"]["Env"] == ["A=1"] and len(doc["history"]) == 1


def test_docker_config_rejects_unknown_arch_and_bad_env() -> None:
    with pytest.raises(ConfigError):
        DockerConfig("x", arch="pdp11")
    with pytest.raises(ConfigError):
        DockerConfig("x", env=("NOEQUALS",))


@pytest.mark.root
def test_overlay_whiteouts_become_oci_whiteouts(tmp_path: Path) -> None:
    base, top = _layers(tmp_path)
    os.mknod(top / "etc/os-release", 0o000 | 0o020000, os.makedev(0, 0))
    (top / "opt").mkdir()
    os.setxattr(top / "opt", "trusted.overlay.opaque", b"y")
    (top / "opt/new").write_text("new\n")
    os.chown(top / "etc/motd", 1234, 5678)
    os.setxattr(top / "etc/motd", "user.note", b"\xff\x00binary")
    archive = tmp_path / "img.docker.tar"
    docker_archive([base, top], archive, config=DockerConfig("dibdo/test"))
    blobs = _blobs(archive)
    members = _layer_members(blobs[json.loads(blobs["manifest.json"])[0]["Layers"][1]], tmp_path)
    assert members["etc/.wh.os-release"].isfile() and "etc/os-release" not in members
    assert members["opt/.wh..wh..opq"].isfile() and members["opt/new"].isfile()
    assert not any("overlay" in k for m in members.values() for k in m.pax_headers)
    motd = members["etc/motd"]
    assert (motd.uid, motd.gid) == (1234, 5678)
    assert (
        motd.pax_headers["SCHILY.xattr.user.note"].encode("utf-8", "surrogateescape")
        == b"\xff\x00binary"
    )
    run(["skopeo", "copy", "-q", f"docker-archive:{archive}", f"dir:{tmp_path / 'copy'}"])


@pytest.mark.root
def test_redirect_dir_layers_are_refused(tmp_path: Path) -> None:
    _, top = _layers(tmp_path)
    os.setxattr(top / "etc", "trusted.overlay.redirect", b"/moved")
    with pytest.raises(StepFailed, match="redirect"):
        docker_archive([top], tmp_path / "img.docker.tar", config=DockerConfig("dibdo/test"))
    assert not (tmp_path / "img.docker.tar").exists()
