"""The resume manifest of ``--engine ray``: whole rows survive a kill, a torn last line is closed off."""

from __future__ import annotations

from pathlib import Path

from i2i.infer.manifest import Manifest, ManifestRow


def test_rows_round_trip_and_only_done_or_skipped_rows_are_finished(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "sub" / "m.jsonl")
    assert manifest.rows() == [] and manifest.finished() == set()
    rows = [
        ManifestRow("in/a.jpg", "out/a.jpg", "done"),
        ManifestRow("in/ü b.jpg", "out/ü b.jpg", "skipped"),
        ManifestRow("in/c.jpg", "out/c.jpg", "failed", "truncated JPEG (no end-of-image marker)"),
    ]
    manifest.append(rows)
    manifest.append([])
    assert manifest.rows() == rows
    assert manifest.finished() == {("in/a.jpg", "out/a.jpg"), ("in/ü b.jpg", "out/ü b.jpg")}


def test_a_torn_last_line_is_ignored_and_the_next_append_starts_a_new_line(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "m.jsonl")
    manifest.append([ManifestRow("in/a.jpg", "out/a.jpg", "done")])
    with open(manifest.path, "a", encoding="utf-8") as f:
        f.write('{"path": "in/b.jpg", "output": "out/b')  # a job killed inside a write
    assert [row.path for row in manifest.rows()] == ["in/a.jpg"]
    manifest.append([ManifestRow("in/b.jpg", "out/b.jpg", "done")])
    assert [row.path for row in manifest.rows()] == ["in/a.jpg", "in/b.jpg"]
    assert manifest.finished() == {("in/a.jpg", "out/a.jpg"), ("in/b.jpg", "out/b.jpg")}
