"""Dataset downloads against a loopback HTTP server: resume, restart, integrity, safe extraction, CLI."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data.datasets import AlignedDataset, UnalignedDataset
from i2i.data.download import (
    MARKER,
    MIRROR_ENV,
    ArchiveError,
    DownloadError,
    ManualDownloadRequired,
    dataset_url,
    download_dataset,
    download_file,
    extract_archive,
    find_dataset,
    verify_archive,
)
from i2i.data.geometry import Geometry
from i2i.data.io import write_image

Server = Any  # the `server` fixture of tests/conftest.py (conftest modules are not importable by name)


def _png(colour: tuple[int, int, int], tmp: Path) -> bytes:
    return write_image(tmp / "x.png", np.full((8, 16, 3), colour, np.uint8)).read_bytes()


def _tar_gz(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_name_resolution_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_dataset("facades").method == "pix2pix"  # in both collections: pix2pix wins
    assert find_dataset("facades", "cyclegan").filename == "facades.zip"
    assert dataset_url(find_dataset("edges2shoes")) == (
        "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/edges2shoes.tar.gz"
    )
    assert dataset_url(find_dataset("horse2zebra")) == (
        "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip"
    )
    monkeypatch.setenv(MIRROR_ENV, "http://mirror.local/data/")
    assert dataset_url(find_dataset("maps")) == "http://mirror.local/data/pix2pix/datasets/maps.tar.gz"
    with pytest.raises(KeyError, match="horse2zebra"):
        find_dataset("horse2zebr")
    with pytest.raises(ManualDownloadRequired, match=r"prepare_cityscapes_dataset\.py"):
        download_dataset("cityscapes", "unused-root")


def test_pix2pix_download_extracts_and_is_idempotent(server: Server, tmp_path: Path) -> None:
    red = _png((255, 0, 0), tmp_path)
    archive = _tar_gz({"facades/train/1.png": red, "facades/test/1.png": red})
    server.files["/pix2pix/datasets/facades.tar.gz"] = archive
    root = tmp_path / "datasets"
    result = download_dataset("facades", root, base_url=server.url)
    assert not result.already_present and result.path == root / "facades"
    assert (root / "facades" / MARKER).is_file()
    assert sorted(p.name for p in root.iterdir()) == ["facades"]  # no archive, .part or staging left
    item = AlignedDataset(root / "facades", "train", Geometry(train=False, preprocess="none", flip=False))[0]
    assert item["a"].shape == (3, 8, 8)
    again = download_dataset("facades", root, base_url=server.url)
    assert again.already_present and len(server.ranges) == 1  # nothing fetched the second time


def test_cyclegan_zip_via_method_and_mirror_env(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = _png((0, 0, 255), tmp_path)
    server.files["/cyclegan/datasets/facades.zip"] = _zip(
        {"facades/trainA/a.png": png, "facades/trainB/b.png": png}
    )
    monkeypatch.setenv(MIRROR_ENV, server.url)
    result = download_dataset("facades", tmp_path / "d", method="cyclegan")
    assert result.source.layout == "unaligned"
    assert len(UnalignedDataset(result.path, "train", Geometry(preprocess="none"))) == 1


def test_resume_from_partial_file_with_range(server: Server, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40
    server.files["/f.bin"] = payload
    destination = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(payload[:4000])
    download_file(f"{server.url}/f.bin", destination, sha256=hashlib.sha256(payload).hexdigest())
    assert destination.read_bytes() == payload and not (tmp_path / "f.bin.part").exists()
    assert server.ranges == ["bytes=4000-"] and server.sent == [len(payload) - 4000]


def test_interrupted_transfer_keeps_part_and_next_call_resumes(server: Server, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40
    server.files["/f.bin"] = payload
    server.cut_after = 3000
    with pytest.raises(DownloadError, match="resume"):
        download_file(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin.part").stat().st_size == 3000
    download_file(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == payload and server.ranges[-1] == "bytes=3000-"


def test_server_ignoring_range_restarts_from_zero(server: Server, tmp_path: Path) -> None:
    payload = b"0123456789" * 100
    server.files["/f.bin"] = payload
    server.honour_range = False
    (tmp_path / "f.bin.part").write_bytes(b"garbage that must not survive")
    download_file(f"{server.url}/f.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == payload


def test_stale_part_longer_than_file_is_restarted(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = b"short"
    (tmp_path / "f.bin.part").write_bytes(b"much longer than the file")
    download_file(f"{server.url}/f.bin", tmp_path / "f.bin")  # 416 -> drop the .part and retry
    assert (tmp_path / "f.bin").read_bytes() == b"short"


def test_checksum_mismatch_is_rejected(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = b"payload"
    with pytest.raises(DownloadError, match="SHA-256"):
        download_file(f"{server.url}/f.bin", tmp_path / "f.bin", sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(f"{server.url}/missing.bin", tmp_path / "m.bin")


@pytest.mark.parametrize(
    "entries",
    [{"../evil.txt": b"x"}, {"data/../../evil.txt": b"x"}, {"/tmp/evil.txt": b"x"}],
)
def test_archives_escaping_the_target_are_rejected(tmp_path: Path, entries: dict[str, bytes]) -> None:
    for suffix, build in ((".tar.gz", _tar_gz), (".zip", _zip)):
        archive = tmp_path / f"bad{suffix}"
        archive.write_bytes(build({"ok/file.txt": b"fine", **entries}))
        target = tmp_path / f"out{suffix}"
        with pytest.raises(ArchiveError, match="refusing"):
            extract_archive(archive, target)
        assert not (tmp_path / "evil.txt").exists() and list(target.iterdir()) == []


def _tar_with_links(links: list[tuple[str, str, bytes]]) -> bytes:
    """A .tar.gz of (name, link target, type) entries, then a file written through the last link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, target, kind in links:
            link = tarfile.TarInfo(name)
            link.type, link.linkname = kind, target
            tf.addfile(link)
        payload = tarfile.TarInfo(f"{links[-1][0]}/escaped.txt")
        payload.size = 1
        tf.addfile(payload, io.BytesIO(b"x"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "links",
    [
        [("ds/link", "../../outside", tarfile.SYMTYPE)],
        # The chain of issue #12: each link alone stays inside, together they climb two levels.
        [("facades/x", "..", tarfile.SYMTYPE), ("facades/x/y", "..", tarfile.SYMTYPE)],
        [("ds/inside", "ds/file", tarfile.LNKTYPE)],
    ],
    ids=["symlink-out", "symlink-chain", "hardlink"],
)
@pytest.mark.parametrize("has_filters", [True, False], ids=["filters", "old-python"])
def test_tar_links_are_refused_on_every_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, links: list[tuple[str, str, bytes]], has_filters: bool
) -> None:
    if not has_filters:  # Python 3.10.0-3.10.11 / 3.11.0-3.11.3 lack tarfile's extraction filters
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    stage = tmp_path / "a" / "b" / "stage"
    (tmp_path / "bad.tar.gz").write_bytes(_tar_with_links(links))
    with pytest.raises(ArchiveError, match="refusing link entry"):
        extract_archive(tmp_path / "bad.tar.gz", stage)
    assert list(stage.iterdir()) == []
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "bad.tar.gz", "stage"]


def test_corrupt_archives_fail_verification(tmp_path: Path) -> None:
    good = _tar_gz({"a/b.txt": bytes(range(256)) * 64})
    (tmp_path / "cut.tar.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ArchiveError):
        verify_archive(tmp_path / "cut.tar.gz")
    zipped = bytearray(_zip({"a/b.txt": b"hello world" * 100}))
    zipped[40] ^= 0xFF  # flip a byte of the stored member data: CRC mismatch
    (tmp_path / "flip.zip").write_bytes(bytes(zipped))
    with pytest.raises(ArchiveError):
        verify_archive(tmp_path / "flip.zip")
    verify_archive(_write(tmp_path / "good.tar.gz", good))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_cli_download_reports_and_is_idempotent(server: Server, tmp_path: Path) -> None:
    server.files["/pix2pix/datasets/maps.tar.gz"] = _tar_gz({"maps/train/1.png": _png((1, 2, 3), tmp_path)})
    runner = CliRunner()
    args = [
        "data",
        "download",
        "maps",
        "--root",
        str(tmp_path / "ds"),
        "--mirror",
        server.url,
        "--no-progress",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "aligned layout" in first.output and (tmp_path / "ds" / "maps" / "train" / "1.png").is_file()
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "already" in second.output
    manual = runner.invoke(app, ["data", "download", "cityscapes", "--root", str(tmp_path)])
    assert manual.exit_code == 2 and "prepare_cityscapes_dataset.py" in manual.output
    unknown = runner.invoke(app, ["data", "download", "horse2zebr", "--root", str(tmp_path)])
    assert unknown.exit_code == 1 and "did you mean 'horse2zebra'" in unknown.output
