"""The resume manifest of ``--engine ray``: whole rows survive a kill, a torn last line is closed off."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from i2i.infer.manifest import Finished, Manifest, ManifestRow


def test_rows_round_trip_and_only_done_or_skipped_rows_are_finished(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "sub" / "m.jsonl")
    assert manifest.rows() == [] and len(manifest.finished()) == 0
    rows = [
        ManifestRow("in/a.jpg", "out/a.jpg", "done"),
        ManifestRow("in/ü b.jpg", "out/ü b.jpg", "skipped"),
        ManifestRow("in/c.jpg", "out/c.jpg", "failed", "truncated JPEG (no end-of-image marker)"),
    ]
    manifest.append(rows)
    manifest.append([])
    assert manifest.rows() == rows
    finished = manifest.finished()
    assert (
        len(finished) == 2
        and ("in/a.jpg", "out/a.jpg") in finished
        and ("in/ü b.jpg", "out/ü b.jpg") in finished
    )
    assert ("in/c.jpg", "out/c.jpg") not in finished  # failed: tried again
    assert ("in/a.jpg", "out/a.png") not in finished  # another --format: translated again


def test_a_torn_last_line_is_ignored_and_the_next_append_starts_a_new_line(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "m.jsonl")
    manifest.append([ManifestRow("in/a.jpg", "out/a.jpg", "done")])
    with open(manifest.path, "a", encoding="utf-8") as f:
        f.write('{"path": "in/b.jpg", "output": "out/b')  # a job killed inside a write
    assert [row.path for row in manifest.rows()] == ["in/a.jpg"]
    manifest.append([ManifestRow("in/b.jpg", "out/b.jpg", "done")])
    assert [row.path for row in manifest.rows()] == ["in/a.jpg", "in/b.jpg"]
    finished = manifest.finished()
    assert len(finished) == 2 and ("in/b.jpg", "out/b.jpg") in finished


def test_finished_pairs_are_told_apart_where_the_names_only_regroup(tmp_path: Path) -> None:
    """The digest of (path, output) keeps the boundary between the two names."""
    manifest = Manifest(tmp_path / "m.jsonl")
    manifest.append([ManifestRow("in/ab", "c", "done")])
    finished = manifest.finished()
    assert ("in/ab", "c") in finished
    assert ("in/a", "bc") not in finished and ("in/abc", "") not in finished


def test_restarting_a_large_job_keeps_a_digest_per_row_not_the_rows(tmp_path: Path) -> None:
    """A 10-million-photo manifest must not need gigabytes to resume: reading 20,000 rows of realistic
    paths takes well under half the memory of keeping their pairs of names (what it did before)."""
    count = 20_000
    with open(tmp_path / "m.jsonl", "w", encoding="utf-8") as f:
        for i in range(count):
            name = f"archive/2024/{i // 1000:05d}/IMG_{i:08d}.jpg"
            row = {"path": f"/data/{name}", "output": f"/out/{name}", "status": "done", "reason": ""}
            f.write(json.dumps(row) + "\n")
    manifest = Manifest(tmp_path / "m.jsonl")

    def traced(read: Callable[[], object]) -> tuple[object, int, int]:
        tracemalloc.start()
        try:
            result = read()
            kept, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return result, kept, peak

    finished, kept, peak = traced(manifest.finished)
    pairs, pairs_kept, pairs_peak = traced(lambda: {(row.path, row.output) for row in manifest.rows()})
    assert isinstance(finished, Finished) and isinstance(pairs, set)
    assert len(finished) == count and all(pair in finished for pair in list(pairs)[:100])
    assert kept < 0.5 * pairs_kept and peak < 0.5 * pairs_peak, (kept, pairs_kept, peak, pairs_peak)
