"""``i2i translate --engine ray``: the folder pipeline as Ray Data stages, from one machine to a cluster.

::

    inputs listed     read + decode        infer (actor pool: one ONNX       encode + write     manifest
    (the driver)  ->  (CPU tasks)      ->  Runtime session per actor, one -> (CPU tasks)    ->  (the driver
                      uint8 pixels         GPU each where there are GPUs;    uint8 pixels      appends rows)
                                           prepare, run, finish)

Every stage calls what the local engine (:mod:`i2i.infer.pipeline`) calls:
:func:`~i2i.data.io.read_image_with_metadata` / :func:`~i2i.data.io.write_image` (through
:mod:`i2i.infer.storage` for object stores), :meth:`Translator.prepare`,
:func:`~i2i.infer.pipeline.run_group` and :meth:`Translator.finish`, so the two engines write the same
bytes. Pixels travel between the stages as uint8, a quarter of the model's float32; preparing and
finishing (a scale, a pad, a crop) stay in the actor for that reason.

Each batch that reaches an actor is split into groups of one shape (a size the local engine would
batch together); photos larger than ``--tile`` are tiled inside the actor. Unreadable, untranslatable
or unwritable files become ``failed`` rows with their reasons and never stop the job. The driver
appends every finished row to a :class:`~i2i.infer.manifest.Manifest` as results arrive, so a job
started again skips what is done without listing the destination.

Differences from the local engine: with ``--tile`` and the ``large`` extra, the local engine streams a
large photo in strips and encodes it with libvips; here it is tiled in memory and encoded with OpenCV
(the same pixels; JPEG and PNG bytes may differ). Only ONNX models (``.onnx``) run here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from i2i.card import ModelCard
from i2i.data.image_metadata import ImageMetadata
from i2i.export.metadata import read_onnx_card
from i2i.extras import require
from i2i.infer.backends import load_backend
from i2i.infer.inputs import InputImage, collect_inputs
from i2i.infer.manifest import MANIFEST_NAME, Manifest, ManifestRow
from i2i.infer.pipeline import Failure, TranslateSummary, failure_reason, plan_outputs, run_group
from i2i.infer.storage import exists, is_remote, join, list_remote_images, read_image_at, write_image_at
from i2i.infer.translator import Prepared, Translator

if TYPE_CHECKING:
    from ray.data import Dataset

__all__ = ["GEOMETRY_OPTIONS", "block_rows", "plan_rows", "translate_dataset", "translate_with_ray"]

GEOMETRY_OPTIONS = ("batch_size", "tile", "overlap", "tile_statistics", "resize", "scale_width", "crop")
"""The :class:`Translator` options besides the backend's (how to prepare, batch and finish an image)."""

Batch = dict[str, np.ndarray]

BLOCK_IMAGES = 16
"""Images a Ray task takes at least (whole batches): Ray's cost per task is spread over them. Measured
with ``tools/bench_ray_translate.py`` (400 photos at 256 px, 2 cores): one batch of 4 a block gave 0.72 of
the local engine's images/s, 16 images 0.78-0.83, 32 images 0.79."""
MAX_BLOCKS = 1000
"""Blocks of the input listing at most (a 10-million-photo job: 10,000 rows a block)."""


class _CardOnly:
    """A backend with the model's card and no session: the driver checks the options with it."""

    def __init__(self, card: ModelCard) -> None:
        self.card = card
        self.name = "card only"

    def run(self, batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("the driver of the ray engine does not run the network")


def _geometry(options: Mapping[str, Any]) -> dict[str, Any]:
    return {key: options[key] for key in GEOMETRY_OPTIONS if key in options}


# --- the stages (module-level functions and a class, so that Ray can ship them to workers) -----------


def _decode(batch: Batch, *, skip_existing: bool) -> Batch:
    """Read and decode each row's image (a CPU task). Columns in: ``path``, ``output``."""
    rows = []
    for src, dst in zip(batch["path"], batch["output"], strict=True):
        row: dict[str, Any] = {"path": str(src), "output": str(dst), "status": "todo", "reason": ""}
        row.update(frames=1, icc=b"", exif=b"", image=_NO_IMAGE)
        try:
            if skip_existing and exists(row["output"]):
                row["status"] = "skipped"
            else:
                image, metadata = read_image_at(row["path"])  # uint8 (H, W, C): a quarter of float32
                row.update(image=image, frames=metadata.frames)
                row.update(icc=metadata.icc_profile or b"", exif=metadata.exif or b"")
        except Exception as error:
            row.update(status="failed", reason=failure_reason(error))
        rows.append(row)
    return _columns(rows)


_NO_IMAGE = np.zeros((0, 0, 0), np.uint8)


class _Infer:
    """An inference actor: one ONNX Runtime session. Prepares each batch's images, runs them in groups
    of one shape (tiled photos alone) and finishes them: uint8 pixels in, uint8 pixels out."""

    def __init__(self, model: str, options: Mapping[str, Any], threads: int | None) -> None:
        backend_options = {k: options[k] for k in ("device", "domain") if options.get(k) is not None}
        backend = load_backend(model, backend="onnxruntime", threads=threads, **backend_options)
        self.translator = Translator(backend, **_geometry(options))

    def __call__(self, batch: Batch) -> Batch:
        rows = _rows(batch)
        prepared: dict[int, Prepared] = {}
        groups: dict[tuple[object, ...], list[int]] = {}  # one shape, or ("tiled", row) alone
        for i, row in enumerate(rows):
            if row["status"] != "todo":
                continue
            try:
                prepared[i] = self.translator.prepare(row["image"])
            except Exception as error:
                row.update(status="failed", reason=failure_reason(error), image=_NO_IMAGE)
                continue
            tiled = self.translator.is_tiled(prepared[i].height, prepared[i].width)
            groups.setdefault(("tiled", i) if tiled else prepared[i].key, []).append(i)
        for indices in groups.values():
            outputs = run_group(self.translator, [prepared[i] for i in indices])
            for i, output in zip(indices, outputs, strict=True):
                if isinstance(output, Exception):
                    rows[i].update(status="failed", reason=failure_reason(output), image=_NO_IMAGE)
                else:
                    rows[i]["image"] = self.translator.finish(prepared[i], output)
        return _columns(rows)


def _encode(batch: Batch, *, quality: int) -> Batch:
    """Encode and write each translated row (a CPU task); the result is the manifest's columns."""
    rows = []
    for row in _rows(batch):
        if row["status"] == "todo":
            try:
                metadata = ImageMetadata(row["icc"] or None, row["exif"] or None, int(row["frames"]))
                write_image_at(row["output"], row["image"], quality=quality, metadata=metadata)
                row["status"] = "done"
            except Exception as error:
                row.update(status="failed", reason=failure_reason(error))
        rows.append({key: row[key] for key in ("path", "output", "status", "reason", "frames")})
    return _columns(rows)


def _rows(batch: Batch) -> list[dict[str, Any]]:
    keys = list(batch)
    return [dict(zip(keys, values, strict=True)) for values in zip(*(batch[k] for k in keys), strict=True)]


def _columns(rows: Sequence[Mapping[str, Any]]) -> Batch:
    """Rows -> numpy columns; arrays of differing shapes become object columns (Ray's ragged tensors)."""
    columns: Batch = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        if isinstance(values[0], np.ndarray):
            column = np.empty(len(values), dtype=object)
            column[:] = values
            columns[key] = column
        elif isinstance(values[0], bytes):
            columns[key] = np.array(values, dtype=object)
        else:
            columns[key] = np.array(values)
    return columns


# --- the public functions -----------------------------------------------------------------------------


def translate_dataset(
    dataset: Dataset,
    model: str | os.PathLike[str],
    *,
    options: Mapping[str, Any] | None = None,
    quality: int = 95,
    skip_existing: bool = False,
    actors: int = 1,
    gpus_per_actor: float = 0.0,
    threads_per_actor: int | None = None,
) -> Dataset:
    """Translate the images of a Ray Dataset; for pipelines of your own (the CLI calls it too).

    Args:
        dataset: Rows with ``path`` (a file or a URI such as ``s3://bucket/in/a.jpg``) and ``output``
            (where its translation goes; the suffix picks the format).
        model: An ``.onnx`` file that every node can read (a shared file system).
        options: :class:`Translator` options: ``batch_size``, ``tile``, ``overlap``, ``resize``,
            ``scale_width``, ``crop``, ``device`` (auto, cpu, cuda, tensorrt) and ``domain``.
        quality: JPEG / WebP quality, 1-100.
        skip_existing: Rows whose output exists are not read (status ``skipped``).
        actors: Inference actors (ONNX Runtime sessions).
        gpus_per_actor: GPUs each actor reserves (1 on GPU nodes; fractions share a GPU).
        threads_per_actor: ONNX Runtime CPU threads of each actor (default: the node's cores).

    Returns:
        A lazy Dataset of one row per input: ``path``, ``output``, ``status`` (``done``, ``skipped`` or
        ``failed``), ``reason`` (one line, "" unless failed) and ``frames`` (only the first of several
        frames is translated). Nothing runs until it is consumed.

    Raises:
        ValueError: An invalid option or a model that is not ``.onnx``.

    Example:
        >>> rows = [{"path": "in/a.jpg", "output": "out/a.png"}]  # doctest: +SKIP
        >>> for row in translate_dataset(ray.data.from_items(rows), "m.onnx").iter_rows():  # doctest: +SKIP
        ...     print(row["path"], row["status"], row["reason"])
    """
    options = dict(options or {})
    model = Path(model)
    if model.suffix.lower() != ".onnx":
        raise ValueError(f"{model}: the ray engine runs ONNX models; export it first (i2i export)")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in [1, 100], got {quality}")
    if actors < 1:
        raise ValueError(f"actors must be at least 1, got {actors}")
    card = read_onnx_card(model)
    card.require_image_input(model, "translation")
    Translator(_CardOnly(card), **_geometry(options))  # the option checks, here rather than in a task
    batch_size = int(options.get("batch_size", 4))
    decoded = dataset.map_batches(
        partial(_decode, skip_existing=skip_existing),
        batch_size=batch_size,
        batch_format="numpy",
    )
    translated = decoded.map_batches(
        _Infer,
        fn_constructor_kwargs={"model": str(model), "options": options, "threads": threads_per_actor},
        batch_size=batch_size,
        batch_format="numpy",
        compute=require("ray", "ray", "--engine ray").data.ActorPoolStrategy(size=actors),
        num_gpus=gpus_per_actor,
        num_cpus=0 if gpus_per_actor else 1,
    )
    return translated.map_batches(
        partial(_encode, quality=quality),
        batch_size=batch_size,
        batch_format="numpy",
    )


def block_rows(count: int, batch_size: int, actors: int) -> int:
    """Rows of each block of a job of ``count`` inputs: :data:`BLOCK_IMAGES` or more in whole batches,
    fewer where that would leave an actor without two blocks, more where it would make more than
    :data:`MAX_BLOCKS` blocks.

    Example:
        >>> block_rows(400, 4, 1), block_rows(400, 6, 1), block_rows(40, 4, 4), block_rows(10**7, 4, 8)
        (16, 18, 5, 10000)
    """
    rows = batch_size * -(-BLOCK_IMAGES // batch_size)
    rows = min(rows, max(1, -(-count // (2 * actors))))
    return max(rows, -(-count // MAX_BLOCKS))


def plan_rows(
    inputs: Sequence[str],
    out: str,
    *,
    list_file: Path | None = None,
    limit: int | None = None,
    output_format: str = "same",
) -> tuple[list[tuple[str, str]], list[Failure]]:
    """``(source, destination)`` of every input, and the inputs that cannot be read.

    Local inputs are collected as the local engine collects them (:func:`collect_inputs`,
    :func:`plan_outputs`: relative paths kept, overlapping folders refused); one URI input is listed
    with :func:`~i2i.infer.storage.list_remote_images`.

    Raises:
        ValueError: Overlapping folders, no images, or a URI mixed with other inputs.
    """
    remote = [location for location in inputs if is_remote(location)]
    items: list[InputImage]
    if remote:
        if len(inputs) != 1 or list_file is not None:
            raise ValueError(f"{remote[0]}: give one object-store folder by itself (no other inputs)")
        root = remote[0]
        items = list_remote_images(root)[:limit]
        if is_remote(out) and (out.rstrip("/") + "/").startswith(root.rstrip("/") + "/"):
            raise ValueError(f"the output {out!r} is the input {root!r} or inside it; choose another --out")
        sources = {item.path: join(root, item.relative) for item in items}
    else:
        items = collect_inputs(inputs, list_file=list_file, limit=limit)
        sources = {item.path: str(item.path) for item in items}
    if is_remote(out) or remote:
        relative, problems = plan_outputs(items, Path(), output_format, check=False)
        if not is_remote(out):
            Path(out).mkdir(parents=True, exist_ok=True)
        targets = {src: join(out, dst) for src, dst in relative.items()}
    else:
        local, problems = plan_outputs(items, Path(out), output_format)
        targets = {src: str(dst) for src, dst in local.items()}
    return [(sources[src], dst) for src, dst in targets.items()], problems


def translate_with_ray(
    inputs: Sequence[str],
    out: str,
    model: str | os.PathLike[str],
    *,
    options: Mapping[str, Any] | None = None,
    list_file: Path | None = None,
    limit: int | None = None,
    output_format: str = "same",
    quality: int = 95,
    skip_existing: bool = False,
    manifest: Path | None = None,
    address: str | None = None,
    actors: int | None = None,
    threads_per_actor: int | None = None,
    progress: bool = False,
    record_outputs: bool = False,
) -> TranslateSummary:
    """``i2i translate --engine ray``: translate ``inputs`` into ``out`` on a Ray cluster.

    Args:
        inputs: Image files and folders, or one object-store URI (``s3://bucket/photos``).
        out: Output folder or URI; relative paths are kept.
        model: ``.onnx`` file readable on every node.
        options: :class:`Translator` options (see :func:`translate_dataset`).
        list_file, limit, output_format, quality, skip_existing: As for ``i2i translate``.
        manifest: The job's :class:`~i2i.infer.manifest.Manifest` (default ``OUT/.i2i-manifest.jsonl``;
            needed for an object-store ``out``, which cannot append).
        address: Ray cluster to join (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:10001"``); ``None``
            starts Ray on this machine (unless it is running in this process already).
        actors: Inference actors; default one per GPU, else one.
        threads_per_actor: ONNX Runtime threads of each actor (default: the node's cores).
        progress: Show Ray Data's progress bars.
        record_outputs: Fill the summary's ``outputs`` (for a results page): local folders only, one
            ``stat`` per input at the end.

    Returns:
        The :class:`TranslateSummary`; inputs the manifest records as finished count as skipped.

    Raises:
        MissingExtraError: Ray is not installed (``pip install i2i[ray]``).
        ValueError: Invalid options, overlapping folders, or an object-store ``out`` without a manifest.
    """
    ray = require("ray", "ray", "--engine ray")
    options = dict(options or {})
    if manifest is None:
        if is_remote(out):
            raise ValueError(
                f"{out}: an object-store --out needs --manifest PATH (a local file to append to)"
            )
        manifest = Path(out) / MANIFEST_NAME
    rows, problems = plan_rows(inputs, out, list_file=list_file, limit=limit, output_format=output_format)
    record = Manifest(manifest)
    finished = record.finished()
    todo = [(src, dst) for src, dst in rows if (src, dst) not in finished]
    summary = TranslateSummary(failed=list(problems), skipped=len(rows) - len(todo))
    record.append(ManifestRow(str(f.path), "", "failed", f.reason) for f in problems)
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    gpus = ray.cluster_resources().get("GPU", 0) if options.get("device", "auto") != "cpu" else 0
    summary.backend = f"ray: onnxruntime on {'GPU' if gpus else 'CPU'}"
    if todo:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = progress
        context.print_on_execution_start = progress
        actors = actors or max(1, int(gpus))
        block_size = block_rows(len(todo), int(options.get("batch_size", 4)), actors)
        dataset = ray.data.from_items(
            [{"path": src, "output": dst} for src, dst in todo],
            override_num_blocks=-(-len(todo) // block_size),
        )
        results = translate_dataset(
            dataset,
            model,
            options=options,
            quality=quality,
            skip_existing=skip_existing,
            actors=actors,
            gpus_per_actor=1.0 if gpus else 0.0,
            threads_per_actor=threads_per_actor,
        )
        start = time.perf_counter()
        for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
            finished_rows = [
                ManifestRow(**{k: str(v) for k, v in row.items() if k != "frames"}) for row in _rows(batch)
            ]
            record.append(finished_rows)  # before anything else: a kill loses at most the batches in flight
            for row, frames in zip(finished_rows, batch["frames"], strict=True):
                if row.status == "done":
                    summary.done += 1
                    if int(frames) > 1:
                        summary.first_frame_only.append((_location(row.path), int(frames)))
                elif row.status == "skipped":
                    summary.skipped += 1
                else:
                    summary.failed.append(Failure(_location(row.path), row.reason))
        summary.seconds = time.perf_counter() - start
    if record_outputs:
        failed = {failure.path for failure in summary.failed}
        summary.outputs = [
            (Path(src), Path(dst)) for src, dst in rows if Path(src) not in failed and Path(dst).is_file()
        ]
    return summary


def _location(path: str) -> Path | str:
    """A local path as a :class:`~pathlib.Path`; a URI as it is (``Path`` would fold ``s3://``)."""
    return path if is_remote(path) else Path(path)
