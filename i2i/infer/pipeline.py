"""Folder -> folder translation that keeps the accelerator busy and never loses or corrupts a file.

Three stages run at once::

    reader threads          calling thread            writer threads
    read_image + prepare -> batches of one shape  -> finish + write_image (temp file + rename)
         (bounded: a few batches ahead)   Translator.run        (bounded: a few batches behind)

* Decoding, colour conversion and padding happen in reader threads and encoding in writer threads
  (OpenCV and numpy release the GIL), so while the network runs on batch ``k`` the readers prepare
  batch ``k + 1`` and the writers store batch ``k - 1``. Both queues are bounded, so memory stays at a
  few batches of images whatever the size of the folder.
* Images are grouped by shape (after padding) into batches of ``batch_size``; a partial group is run
  when the readers fall behind by more than ``flush_after`` seconds, when too many images wait in
  partial groups, and at the end.
* With ``--tile`` and the ``large`` extra (pyvips) installed, a photo larger than a tile is streamed:
  decoded in strips into a raw file beside its output, translated one row of tiles at a time, and
  encoded in strips (:mod:`i2i.data.strips`), so memory stays flat from 12 to 100 megapixels. Photos with
  alpha or an EXIF rotation, ``--resize`` and BMP output take the in-memory path.
* Every output is written to a temporary file beside its destination and renamed over it, so an output
  that exists is complete; ``skip_existing`` then skips it without decoding its input.
* A file that cannot be read, translated or written, a subfolder that cannot be listed and a broken
  link with an image name are recorded with a one-line reason and skipped;
  the others go on. Inputs are never overwritten: an output folder inside the input folder is refused.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from i2i.data.image_metadata import ImageMetadata
from i2i.data.io import ImageReadError, read_image_with_metadata, write_image
from i2i.data.strips import StripReader, StripWriter, strips_available
from i2i.infer.inputs import InputImage, collect_inputs
from i2i.infer.translator import Prepared, Translator

__all__ = [
    "Failure",
    "TranslateSummary",
    "check_folders",
    "failure_reason",
    "output_paths",
    "plan_outputs",
    "run_group",
    "translate_folder",
]

OutputFormat = Literal["same", "png", "jpg"]


@dataclass(frozen=True)
class Failure:
    """An input that produced no output, and why (one line). ``path`` is a local file, or an object-store
    URI kept as a string (a :class:`~pathlib.Path` would fold ``s3://`` into ``s3:/``)."""

    path: Path | str
    reason: str


@dataclass
class TranslateSummary:
    """What a folder run did.

    Attributes:
        done: Images translated and written.
        skipped: Images whose output already existed (``skip_existing``).
        failed: Inputs that could not be read, translated or written.
        seconds: Wall time from the first read to the last write.
        backend: What ran the network, with its precision (``Backend.name``); "" when unknown.
        first_frame_only: Translated inputs with several frames (TIFF pages, animated WebP) and how
            many; only their first frame was translated.
        outputs: ``(input, output)`` of every input whose output exists at the end (the results page).
    """

    done: int = 0
    skipped: int = 0
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    backend: str = ""
    first_frame_only: list[tuple[Path | str, int]] = field(default_factory=list)
    outputs: list[tuple[Path, Path]] = field(default_factory=list)  # (input, output) of each written or kept

    @property
    def images_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """No input failed."""
        return not self.failed

    def lines(self) -> list[str]:
        """A human-readable report: one line of counts, then one line per failed input."""
        head = (
            f"{self.done} translated, {self.skipped} skipped, {len(self.failed)} failed "
            f"in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s)"
            + (f" with {self.backend}" if self.backend else "")
        )
        notes = [
            f"  note: {path}: {frames} frames; only the first was translated"
            for path, frames in self.first_frame_only
        ]
        return [head, *notes, *(f"  failed: {f.path}: {f.reason}" for f in self.failed)]


def output_paths(
    inputs: Sequence[InputImage], out_dir: Path, output_format: str = "same"
) -> dict[Path, Path]:
    """Destination of each input: its relative path under ``out_dir``, suffix per ``output_format``.

    With ``png`` / ``jpg``, inputs that would land on the same output (``a.jpg`` and ``a.png``) keep
    their own suffix in the name (``a.jpg.png``, ``a.png.png``), so one output never replaces another.

    Example:
        >>> items = [InputImage(Path(p), Path(p).relative_to("in")) for p in ("in/a.jpg", "in/a.png", "in/s/b.tif")]
        >>> [str(p) for p in output_paths(items, Path("out"), "png").values()]
        ['out/a.jpg.png', 'out/a.png.png', 'out/s/b.png']
    """
    if output_format not in ("same", "png", "jpg"):
        raise ValueError(f"format must be same, png or jpg, got {output_format!r}")
    suffix = None if output_format == "same" else "." + output_format

    def target(rel: Path, keep_suffix: bool) -> Path:
        if suffix is None:
            return out_dir / rel
        return out_dir / rel.with_name(rel.name + suffix if keep_suffix else rel.stem + suffix)

    first = {item.path: target(item.relative, False) for item in inputs}
    relative = {item.path: item.relative for item in inputs}
    counts: dict[Path, int] = {}
    for dst in first.values():
        counts[dst] = counts.get(dst, 0) + 1
    return {src: dst if counts[dst] == 1 else target(relative[src], True) for src, dst in first.items()}


def check_folders(input_dir: Path, out_dir: Path, outputs: Sequence[Path] = ()) -> None:
    """Refuse folder pairs where outputs could overwrite inputs or be read back as inputs.

    An output folder equal to or inside the input folder is always refused (the next run would
    translate the outputs). An input folder inside the output folder is refused only when one of
    ``outputs`` would land inside the input folder.

    Raises:
        ValueError: Naming both folders and what would go wrong.
    """
    src, dst = input_dir.resolve(), out_dir.resolve()
    if dst == src or src in dst.parents:
        raise ValueError(
            f"the output folder {str(out_dir)!r} is the input folder {str(input_dir)!r} or inside it: "
            "outputs could overwrite inputs and would be read as inputs by the next run; "
            "choose an output folder outside the input folder"
        )
    if dst in src.parents:
        for path in outputs:
            resolved = path.resolve()
            if src in resolved.parents:
                raise ValueError(
                    f"the input folder {str(input_dir)!r} is inside the output folder {str(out_dir)!r} and the "
                    f"output {str(path)!r} would land inside the input folder; choose another output folder"
                )


def plan_outputs(
    items: Sequence[InputImage], out_dir: Path, output_format: str = "same", *, check: bool = True
) -> tuple[dict[Path, Path], list[Failure]]:
    """The destination of each input that can be read (:func:`output_paths`), and the inputs that
    cannot (``InputImage.problem``) as failures.

    Args:
        check: Refuse overlapping folders (:func:`check_folders`) and outputs that would replace inputs;
            off only where ``out_dir`` is not on the inputs' file system (an object store's keys).

    Raises:
        ValueError: The folders overlap or an output would replace an input.
    """
    problems = [Failure(item.path, str(item.problem)) for item in items if item.problem is not None]
    items = [item for item in items if item.problem is None]
    targets = output_paths(items, out_dir, output_format)
    if not check:
        return targets, problems
    for folder in dict.fromkeys(item.folder for item in items if item.folder is not None):
        check_folders(folder, out_dir, list(targets.values()))
    sources = {item.path.resolve(): item.path for item in items}
    for dst in targets.values():
        if dst.resolve() in sources:
            raise ValueError(
                f"{dst}: the output would replace the input {sources[dst.resolve()]}; choose another --out"
            )
    return targets, problems


def run_group(translator: Translator, group: Sequence[Prepared]) -> list[np.ndarray | Exception]:
    """Network outputs of prepared images of one shape (one :meth:`Translator.run`); when the group
    fails, each image is run alone, so that only the images that fail get their error in the list."""
    try:
        return list(translator.run(group))
    except Exception as error:
        if len(group) == 1:
            return [error]
    results: list[np.ndarray | Exception] = []
    for prepared in group:
        results += run_group(translator, [prepared])
    return results


def translate_folder(
    translator: Translator,
    input_dir: Path | Sequence[InputImage],
    out_dir: Path,
    *,
    limit: int | None = None,
    output_format: OutputFormat = "same",
    quality: int = 95,
    skip_existing: bool = False,
    workers: int | None = None,
    progress: bool = False,
    flush_after: float = 0.5,
) -> TranslateSummary:
    """Translate every image under ``input_dir`` (recursively) into ``out_dir``, keeping relative paths.

    Args:
        translator: Model, batch size, tiling and resize settings.
        input_dir: Folder of images (``.jpg .jpeg .png .webp .bmp .tif .tiff``, any case), or the
            images of :func:`~i2i.infer.inputs.collect_inputs` (files, folders, lists).
        out_dir: Destination folder; must not be, or be inside, an input folder.
        limit: Translate only the first ``limit`` images.
        output_format: ``"same"`` keeps each input's format, ``"png"`` or ``"jpg"`` converts.
        quality: JPEG / WebP quality, 1-100.
        skip_existing: Skip inputs whose output exists (outputs are written atomically, so an existing
            output is complete); nothing is decoded for them.
        workers: Reader threads and writer threads (each); default ``min(4, cores)``.
        progress: Show a progress bar with images/s and the time left (on stderr).
        flush_after: Seconds to wait for the readers before running a partial batch.

    Returns:
        The :class:`TranslateSummary`; failed inputs are in ``failed`` with their reasons.

    Raises:
        FileNotFoundError: ``input_dir`` is not a folder.
        ValueError: The folder holds no images, the folders overlap (see :func:`check_folders`), an
            output would replace an input, or an option is invalid.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in [1, 100], got {quality}")
    out_dir = Path(out_dir)
    items = collect_inputs([input_dir], limit=limit) if isinstance(input_dir, (str, Path)) else input_dir
    items = list(items)[:limit] if limit is not None else list(items)
    targets, problems = plan_outputs(items, out_dir, output_format)
    workers = workers or min(4, os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")

    summary = TranslateSummary(failed=problems, backend=translator.backend.name)
    todo: list[tuple[Path, Path]] = []
    for src, dst in targets.items():
        if skip_existing and dst.is_file():
            summary.skipped += 1
        else:
            todo.append((src, dst))

    start = time.perf_counter()
    with _progress_bar(progress, len(todo)) as advance:
        run = _FolderRun(translator, summary, advance, quality, workers, flush_after)
        run.execute(todo)
    summary.seconds = time.perf_counter() - start
    failed = {f.path for f in summary.failed}
    summary.outputs = [(src, dst) for src, dst in targets.items() if src not in failed and dst.is_file()]
    return summary


@dataclass
class _Job:
    src: Path
    dst: Path
    prepared: Prepared
    metadata: ImageMetadata


class _FolderRun:
    """The state of one folder run: the two thread pools, the queues and the partial batches."""

    def __init__(
        self,
        translator: Translator,
        summary: TranslateSummary,
        advance: Callable[[], None],
        quality: int,
        workers: int,
        flush_after: float,
    ) -> None:
        self.translator = translator
        self.summary = summary
        self.advance = advance
        self.quality = quality
        self.workers = workers
        self.flush_after = flush_after
        batch = translator.batch_size
        tiled = translator.tile is not None
        # Images decoded ahead of the network: the next batch and one more, or a few large tiled photos.
        self.read_ahead = workers + 1 if tiled else max(2 * batch, 2 * workers)
        self.write_behind = 2 * batch + workers  # outputs waiting to be encoded
        self.max_waiting = 4 * batch  # images held in partial groups before the oldest group runs
        self.groups: dict[tuple[int, ...], list[_Job]] = {}
        self.writes: deque[tuple[Path, Future[object]]] = deque()
        self.writers: ThreadPoolExecutor | None = None
        self.streams = tiled and translator.resize is None and strips_available()

    def execute(self, todo: Sequence[tuple[Path, Path]]) -> None:
        pending = iter(todo)
        reads: deque[tuple[Path, Path, Future[tuple[Prepared, ImageMetadata] | StripReader]]] = deque()
        with (
            ThreadPoolExecutor(self.workers, thread_name_prefix="i2i-read") as readers,
            ThreadPoolExecutor(self.workers, thread_name_prefix="i2i-write") as writers,
        ):
            self.writers = writers

            def refill() -> None:
                while len(reads) < self.read_ahead:
                    item = next(pending, None)
                    if item is None:
                        return
                    src, dst = item
                    reads.append((src, dst, readers.submit(self._read, src, dst)))

            refill()
            while reads:
                src, dst, future = reads[0]
                try:
                    read = future.result(timeout=self.flush_after if self.groups else None)
                except FutureTimeout:  # the readers are behind: do not let the accelerator idle
                    self._run_oldest_group()
                    continue
                except Exception as error:
                    reads.popleft()
                    refill()
                    self._fail(src, error)
                    continue
                reads.popleft()
                refill()
                if isinstance(read, StripReader):  # a large photo, streamed
                    self._run_streamed(src, dst, read)
                    self._collect_writes(block=False)
                    continue
                prepared, metadata = read
                if metadata.frames > 1:
                    self.summary.first_frame_only.append((src, metadata.frames))
                self._add(_Job(src, dst, prepared, metadata))
                self._collect_writes(block=False)
            while self.groups:
                self._run_oldest_group()
            self._collect_writes(block=True, keep=0)

    # --- stages ---------------------------------------------------------------------------------

    def _read(self, src: Path, dst: Path) -> tuple[Prepared, ImageMetadata] | StripReader:  # reader thread
        if self.streams and StripWriter.can_write(dst):
            try:
                reader = StripReader.open(src, scratch=dst)
            except ValueError:
                reader = None  # not for libvips: the in-memory reader names the reason
            if reader is not None:
                if self.translator.is_tiled(reader.height, reader.width):
                    return reader
                reader.close()
        image, metadata = read_image_with_metadata(src)
        return self.translator.prepare(image), metadata

    def _write(self, job: _Job, output: np.ndarray) -> None:  # writer thread
        pixels = self.translator.finish(job.prepared, output)
        write_image(job.dst, pixels, quality=self.quality, metadata=job.metadata)

    def _add(self, job: _Job) -> None:
        prepared = job.prepared
        if self.translator.is_tiled(prepared.height, prepared.width):
            self._run([job])  # a large photo: its tiles are the batch
            return
        group = self.groups.setdefault(prepared.key, [])
        group.append(job)
        if len(group) >= self.translator.batch_size:
            self._run(self.groups.pop(prepared.key))
        elif sum(len(g) for g in self.groups.values()) > self.max_waiting:
            self._run_oldest_group()

    def _run_oldest_group(self) -> None:
        if self.groups:
            self._run(self.groups.pop(next(iter(self.groups))))

    def _run(self, jobs: list[_Job]) -> None:
        outputs = run_group(self.translator, [job.prepared for job in jobs])
        for job, output in zip(jobs, outputs, strict=True):
            if isinstance(output, Exception):
                self._fail(job.src, output)
                continue
            self._collect_writes(block=True, keep=self.write_behind)
            assert self.writers is not None
            self.writes.append((job.src, self.writers.submit(self._write, job, output)))

    def _run_streamed(self, src: Path, dst: Path, reader: StripReader) -> None:
        """Translate a large photo strip by strip; its encoding goes to a writer thread."""
        writer: StripWriter | None = None
        try:
            with reader:
                channels = self.translator.card.out_channels
                writer = StripWriter(
                    dst, reader.height, reader.width, channels, quality=self.quality, metadata=reader.metadata
                )
                for band in self.translator.translate_rows(reader.rows, reader.height, reader.width):
                    writer.write(band)
        except Exception as error:
            if writer is not None:
                writer.close()
            self._fail(src, error)
            return
        self._collect_writes(block=True, keep=self.write_behind)
        assert self.writers is not None
        self.writes.append((src, self.writers.submit(writer.finish)))

    def _collect_writes(self, *, block: bool, keep: int = 0) -> None:
        """Record finished writes in order; with ``block``, wait until at most ``keep`` are in flight."""
        while self.writes and (self.writes[0][1].done() or (block and len(self.writes) > keep)):
            src, future = self.writes.popleft()
            try:
                future.result()
            except Exception as error:
                self._fail(src, error)
                continue
            self.summary.done += 1
            self.advance()

    def _fail(self, src: Path, error: BaseException) -> None:
        self.summary.failed.append(Failure(src, failure_reason(error)))
        self.advance()


def failure_reason(error: BaseException) -> str:
    """One line: an unreadable image's own reason, else the error type and the first line of its message."""
    if isinstance(error, ImageReadError):
        return error.reason
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[], None]]:
    """Yield a function that advances a rich progress bar by one image (a no-op when disabled)."""
    if not enabled or total == 0:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class _Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} images/s" if speed else "- images/s")

    columns = (
        TextColumn("translating"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("translate", total=total)
        yield lambda: bar.advance(task)
