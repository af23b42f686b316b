"""Atomic writes: a failed write leaves the old file and no temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from i2i.files import atomic_path, write_bytes_atomic, write_text_atomic


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
