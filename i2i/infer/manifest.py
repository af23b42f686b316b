"""The record of a long translation job, so that a job killed and started again skips finished files.

One JSON object a line, appended as results arrive::

    {"path": "in/a.jpg", "output": "out/a.jpg", "status": "done", "reason": ""}
    {"path": "in/b.jpg", "output": "out/b.jpg", "status": "failed", "reason": "truncated JPEG (no end-of-image marker)"}

Status ``done`` (translated and written), ``skipped`` (the output already existed, ``--skip-existing``) or
``failed`` (with its one-line reason). Each append is one ``write`` on a file opened with ``O_APPEND``
and is then flushed to the disk, so a killed job leaves whole lines and at most one torn last line,
which reading ignores and the next append closes off. A restarted job skips the inputs recorded as
``done`` or ``skipped`` for the same output (a changed ``--format`` or ``--out`` translates again) and
tries the failed ones again. Only the destination's manifest is read, never a listing of its files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MANIFEST_NAME", "Manifest", "ManifestRow"]

MANIFEST_NAME = ".i2i-manifest.jsonl"
"""The manifest's name in a local output folder (hidden, so that a run over that folder skips it)."""

FINISHED = ("done", "skipped")


@dataclass(frozen=True)
class ManifestRow:
    """One input's outcome: ``status`` is done, skipped or failed; ``reason`` is "" unless failed."""

    path: str
    output: str
    status: str
    reason: str = ""


class Manifest:
    """An append-only JSON-lines file of :class:`ManifestRow` (see the module doc).

    Example:
        >>> import tempfile
        >>> manifest = Manifest(Path(tempfile.mkdtemp()) / "m.jsonl")
        >>> manifest.append([ManifestRow("a.jpg", "out/a.jpg", "done"), ManifestRow("b.jpg", "out/b.jpg", "failed", "empty file")])
        >>> sorted(manifest.finished())
        [('a.jpg', 'out/a.jpg')]
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def rows(self) -> list[ManifestRow]:
        """Every whole row written so far (a torn last line is left out)."""
        if not self.path.is_file():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rows.append(ManifestRow(**json.loads(line)))
            except (ValueError, TypeError):
                continue  # the torn line of a killed job
        return rows

    def finished(self) -> set[tuple[str, str]]:
        """``(path, output)`` of the inputs recorded as done or skipped."""
        return {(row.path, row.output) for row in self.rows() if row.status in FINISHED}

    def append(self, rows: Iterable[ManifestRow]) -> None:
        """Append ``rows`` with one write and flush them to the disk."""
        text = "".join(json.dumps(row.__dict__, ensure_ascii=False) + "\n" for row in rows)
        if not text:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            if os.fstat(fd).st_size and not self._ends_with_newline():
                text = "\n" + text  # close off the torn line a killed job left
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"
