"""Atomic writes: a failed write leaves the old file and no temporary file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from i2i.files import atomic_path, current_umask, write_bytes_atomic, write_text_atomic


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_writes_replace_the_content_and_create_parents(tmp_path: Path) -> None:
    text, binary = tmp_path / "a" / "b.txt", tmp_path / "c" / "d.bin"
    write_text_atomic(text, "first")
    write_text_atomic(text, "second ü")
    write_bytes_atomic(binary, b"\x00\x01")
    assert text.read_text(encoding="utf-8") == "second ü" and binary.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["b.txt", "d.bin"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    """mkstemp's 0600 used to reach every file i2i wrote: other users and web servers could not read them."""
    previous = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
        assert current_umask() == umask
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == mode


def test_the_content_and_the_rename_are_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    write_bytes_atomic(tmp_path / "w.bin", b"123")
    assert len(synced) == 2  # the file before the rename, its folder after
