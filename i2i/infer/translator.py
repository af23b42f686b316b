"""Translate uint8 images with a trained generator: one image, a batch, or a whole folder.

:class:`Translator` turns pixels into what the model was trained on and back, using only what the
model file says about itself (:class:`~i2i.card.ModelCard`): channels, value range and size
multiple. The steps, each a separate method so that the folder pipeline can run them on different
threads:

1. :meth:`Translator.prepare` (CPU, any thread): channels to the model's ``in_channels`` (gray -> RGB
   repeats, RGB -> gray is BT.601 luma), the alpha of an RGBA image set aside, the test-time geometry
   (:func:`fit_input`: resize or scale-width, then centre crop), uint8 -> float in the value range,
   reflect padding to the size multiple.
2. :meth:`Translator.run` (the accelerator): batches of prepared images of one shape, or tile by tile.
3. :meth:`Translator.finish` (CPU, any thread): crop back, float -> uint8, alpha put back.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from i2i.data.io import convert_channels
from i2i.data.resize import resize
from i2i.infer.backends import Backend, load_backend
from i2i.infer.statistics import Forward
from i2i.infer.tiling import (
    RowReader,
    TileGrid,
    pad_index,
    pad_to,
    pad_to_multiple,
    run_tiled_rows,
    tile_batches,
    tile_overlap,
)

__all__ = ["MAX_BATCH_PIXELS", "Prepared", "Translator", "fit_input", "resized_shape"]

MAX_BATCH_PIXELS = 1 << 20
"""Pixels per network call (one 1024x1024 image, four of 512x512, sixteen of 256x256). Measured with
``tools/bench_translate.py --ort-memory`` at 1024x768 (resnet_9blocks, 2-core Xeon): batch 4 ran no
faster than batch 1 (ONNX Runtime fp32 0.140 vs 0.141 images/s) while its peak memory grew from 2.96 to
4.86 GB: activations of large images fill the caches at batch 1 already, so batching adds only memory."""


@dataclass
class Prepared:
    """An image ready for the network.

    Attributes:
        array: Float32 ``(C_in, H', W')`` in the model's value range, padded to the size multiple
            (not padded when it will be tiled: tiling pads itself).
        height: Height of the output before padding (the input's, or the resized one).
        width: Width of the output before padding.
        alpha: The input's alpha channel at the output size, ``(height, width)`` uint8, or ``None``.
    """

    array: np.ndarray
    height: int
    width: int
    alpha: np.ndarray | None = None

    @property
    def key(self) -> tuple[int, ...]:
        """Images with the same key can share a batch."""
        return tuple(self.array.shape)


def resized_shape(
    height: int, width: int, shorter_side: int, multiple: int, *, side: str = "shorter"
) -> tuple[int, int]:
    """``(H, W)`` scaled so the shorter side (or with ``side="width"`` the width) is ``shorter_side``,
    each rounded to the nearest multiple.

    Example:
        >>> resized_shape(480, 640, 256, 4)
        (256, 340)
        >>> resized_shape(1000, 10, 7, 4)
        (700, 8)
        >>> resized_shape(480, 640, 256, 4, side="width")
        (192, 256)
    """
    scale = shorter_side / (width if side == "width" else min(height, width))

    def snap(size: float) -> int:
        return max(multiple, round(size / multiple) * multiple)

    return snap(height * scale), snap(width * scale)


def fit_input(
    image: np.ndarray,
    *,
    multiple: int,
    resize_to: int | None = None,
    scale_width: int | None = None,
    crop: int | None = None,
) -> np.ndarray:
    """The test-time geometry of the reference's test options, on a ``uint8`` ``(H, W, C)`` image.

    First one resize: ``resize_to`` scales the shorter side to that many pixels (:func:`resized_shape`),
    ``scale_width`` the width (the reference's ``--preprocess scale_width``; the height keeps the aspect
    ratio), each side rounded to ``multiple``. Then ``crop`` takes the centred ``crop x crop`` window
    (``--preprocess crop`` / ``scale_width_and_crop``, centred so that results repeat; a side shorter
    than ``crop`` is kept whole). ``None`` skips a step.

    Example:
        >>> fit_input(np.zeros((300, 400, 3), np.uint8), multiple=4, scale_width=200, crop=128).shape
        (128, 128, 3)
        >>> fit_input(np.zeros((300, 400, 3), np.uint8), multiple=4, scale_width=200).shape
        (152, 200, 3)
    """
    if resize_to is not None and scale_width is not None:
        raise ValueError("resize and scale_width both set the size; choose one")
    for name, value in (("resize", resize_to), ("scale_width", scale_width), ("crop", crop)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be a positive number of pixels, got {value}")
    height, width = image.shape[:2]
    if resize_to is not None:
        image = resize(image, *resized_shape(height, width, resize_to, multiple))
    elif scale_width is not None:
        image = resize(image, *resized_shape(height, width, scale_width, multiple, side="width"))
    if crop is not None:
        height, width = image.shape[:2]
        top, left = max(0, (height - crop) // 2), max(0, (width - crop) // 2)
        image = np.ascontiguousarray(image[top : top + crop, left : left + crop])
    return image


class Translator:
    """Translate images with an exported ONNX model or a trained PyTorch generator.

    Args:
        model: An ``.onnx`` file (ONNX Runtime or OpenVINO), an OpenVINO IR ``.xml``, a ``.safetensors``
            weights file, a checkpoint directory or a run directory (PyTorch), or a ready
            :class:`~i2i.infer.backends.Backend`.
        backend: ``"auto"`` (by the file), ``"onnxruntime"``, ``"openvino"`` or ``"pytorch"``.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"tensorrt"`` (ONNX) or ``"mps"`` (PyTorch).
        precision: PyTorch: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"`` (CUDA); OpenVINO: ``"auto"``
            (default: bf16 where the CPU has it natively, else fp32; int8 for an int8 IR), ``"fp32"``,
            ``"bf16"`` or ``"int8"``.
        batch_size: Images (or tiles) per network call; fewer for large images (see
            :data:`MAX_BATCH_PIXELS`).
        tile: Tile side in pixels for large images (a multiple of the model's size multiple);
            ``None`` runs whole images. Images that fit in one tile are not tiled.
        overlap: Overlap of neighbouring tiles in pixels.
        tile_statistics: Instance-norm generators run tiled: ``"whole"`` (default) normalises every tile
            with the whole image's statistics, measured tile by tile first (PyTorch models and ``.onnx``
            files, on ONNX Runtime or OpenVINO; see :mod:`i2i.infer.statistics` and
            :mod:`i2i.infer.graph_statistics`), so tiled output matches whole-image output; ``"tile"``
            normalises each tile with its own (one pass, but tiles differ in tone). An OpenVINO IR
            (``.xml``) always uses each tile's own statistics.
        resize: Scale each image so its shorter side is this many pixels (each side rounded to the size
            multiple); the output has the resized size. ``None`` keeps the input size.
        scale_width: Scale each image to this width instead, keeping its aspect ratio (the reference's
            ``--preprocess scale_width``).
        crop: Then translate only the centred ``crop x crop`` window (see :func:`fit_input`).
        direction: PyTorch files with both generators (CycleGAN): ``"a2b"`` or ``"b2a"``.
        domain: Multi-domain (StarGAN) models: the target domain name (required for them).
        mode: OpenVINO: ``"latency"`` (one request on all cores: single images) or ``"throughput"``
            (parallel requests: folders).

    Example:
        >>> translator = Translator("horse2zebra.onnx")  # doctest: +SKIP
        >>> zebra = translator.translate(read_image("horse.jpg"))  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | Backend,
        *,
        backend: str = "auto",
        device: str = "auto",
        precision: str | None = None,
        batch_size: int = 4,
        tile: int | None = None,
        overlap: int = 32,
        tile_statistics: Literal["whole", "tile"] = "whole",
        resize: int | None = None,
        direction: str | None = None,
        domain: str | None = None,
        mode: str = "latency",
        scale_width: int | None = None,
        crop: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if tile_statistics not in ("whole", "tile"):
            raise ValueError(f"tile_statistics must be whole or tile, got {tile_statistics!r}")
        fit_input(
            np.zeros((1, 1, 1), np.uint8), multiple=1, resize_to=resize, scale_width=scale_width, crop=crop
        )
        self.backend = load_backend(
            model,
            backend=backend,
            device=device,
            precision=precision,
            direction=direction,
            domain=domain,
            mode=mode,
        )
        self.card = self.backend.card
        if tile is not None:
            tile_overlap(tile, overlap, self.card.size_multiple, self.card.min_side)
        for option, side in (("--resize", resize), ("--scale-width", scale_width), ("--crop", crop)):
            if side is not None and side < self.card.min_side:
                raise ValueError(
                    f"{option} {side} is smaller than this {self.card.arch} model takes "
                    f"(at least {self.card.min_side} px per side)"
                )
        self.batch_size = batch_size
        self.tile = tile
        self.overlap = overlap
        self.tile_statistics = tile_statistics
        self.resize = resize
        self.scale_width = scale_width
        self.crop = crop
        low, high = self.card.value_range
        self._low = float(low)
        self._scale = (float(high) - float(low)) / 255.0

    # --- the three steps ------------------------------------------------------------------------

    def prepare(self, image: np.ndarray) -> Prepared:
        """uint8 ``(H, W)`` or ``(H, W, C)`` gray / RGB / RGBA -> :class:`Prepared` (see the module doc)."""
        if image.dtype != np.uint8:
            raise ValueError(f"expected uint8 pixels, got {image.dtype}")
        if image.ndim == 2:
            image = image[:, :, None]
        if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
            raise ValueError(f"expected an (H, W, C) image with 1, 3 or 4 channels, got shape {image.shape}")
        alpha = None
        if image.shape[2] == 4 and self.card.in_channels != 4:
            alpha, image = image[:, :, 3], image[:, :, :3]
        image = convert_channels(image, self.card.in_channels)
        geometry = {"resize_to": self.resize, "scale_width": self.scale_width, "crop": self.crop}
        image = fit_input(image, multiple=self.card.size_multiple, **geometry)  # the training resize
        if alpha is not None:
            alpha = fit_input(alpha[:, :, None], multiple=self.card.size_multiple, **geometry)[:, :, 0]
        height, width = image.shape[:2]
        self.card.check_image_size(height, width)
        chw = self._to_model(image)
        if not self.is_tiled(height, width):
            chw = pad_to_multiple(chw, self.card.size_multiple)
        return Prepared(np.ascontiguousarray(chw), height, width, alpha)

    def run(self, items: Sequence[Prepared]) -> list[np.ndarray]:
        """Network outputs, float ``(C_out, H', W')``, for prepared images of one shape.

        Whole images go through the backend ``batch_size`` at a time; images larger than a tile go
        through :func:`~i2i.infer.tiling.run_tiled` one by one, ``batch_size`` tiles at a time.
        """
        outputs: list[np.ndarray | None] = [None] * len(items)
        whole = [i for i, p in enumerate(items) if not self.is_tiled(p.height, p.width)]
        if len({items[i].key for i in whole}) > 1:
            raise ValueError(
                f"images of one batch must have one shape, got {sorted({items[i].key for i in whole})}"
            )
        for i, p in enumerate(items):
            if not self.is_tiled(p.height, p.width):
                continue
            outputs[i] = self._run_tiled(p)
        step = self.images_per_call(items[whole[0]].array.shape) if whole else 1
        for start in range(0, len(whole), step):
            chunk = whole[start : start + step]
            batch = (
                np.stack([items[i].array for i in chunk]) if len(chunk) > 1 else items[chunk[0]].array[None]
            )
            for i, output in zip(chunk, self.backend.run(batch), strict=True):  # (B, C_out, H', W')
                outputs[i] = output
        return [o for o in outputs if o is not None]

    def finish(self, prepared: Prepared, output: np.ndarray) -> np.ndarray:
        """Network output -> uint8 ``(H, W, C_out)``; with the input's alpha appended (gray becomes RGB)."""
        pixels = self._to_pixels(output[:, : prepared.height, : prepared.width])
        if prepared.alpha is None:
            return np.ascontiguousarray(pixels)
        rgb = convert_channels(pixels, 3) if pixels.shape[2] == 1 else pixels[:, :, :3]
        return np.concatenate([rgb, prepared.alpha[:, :, None]], axis=2)

    # --- convenience --------------------------------------------------------------------------------

    def translate(self, image: np.ndarray) -> np.ndarray:
        """Translate one uint8 ``(H, W, C)`` gray / RGB / RGBA image.

        Colours in RGB(A) order, as :func:`i2i.read_image` returns them; OpenCV's ``cv2.imread`` gives
        BGR, which must be converted first (``cv2.cvtColor(image, cv2.COLOR_BGR2RGB)``).

        Returns:
            uint8 ``(H, W, C_out)``, or ``(H, W, 4)`` RGBA when the input had alpha; ``H`` and ``W`` are
            the input's, or the resized size with ``resize``.
        """
        prepared = self.prepare(image)
        (output,) = self.run([prepared])
        return self.finish(prepared, output)

    def translate_batch(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Translate images of one size together (``batch_size`` per network call)."""
        prepared = [self.prepare(image) for image in images]
        return [self.finish(p, out) for p, out in zip(prepared, self.run(prepared), strict=True)]

    def translate_rows(
        self, read_pixels: Callable[[np.ndarray], np.ndarray], height: int, width: int
    ) -> Iterator[np.ndarray]:
        """Translate a tiled image that is read and written in strips (without alpha or resize).

        Args:
            read_pixels: Row indices -> uint8 ``(n, width, C)`` gray or RGB rows of the image (e.g.
                :meth:`i2i.data.strips.StripReader.rows`); called once per row of tiles and pass.
            height: Rows of the image. ``width``: its columns.

        Yields:
            uint8 ``(rows, width, C_out)`` bands, top to bottom, equal to the rows of :meth:`translate`'s
            result for the whole image.
        """
        if self.resize is not None:
            raise ValueError("resize needs the whole image; translate_rows does not resize")
        grid = self.tile_grid(height, width)
        rows = pad_index(height, grid.padded_height)

        def read_rows(start: int, stop: int) -> np.ndarray:  # (C_in, stop - start, W_padded)
            pixels = convert_channels(read_pixels(rows[start:stop]), self.card.in_channels)
            return pad_to(self._to_model(pixels), stop - start, grid.padded_width)

        for band in self.run_rows(read_rows, grid):
            yield self._to_pixels(band)

    # --- internals ----------------------------------------------------------------------------------

    def images_per_call(self, shape: Sequence[int]) -> int:
        """Whole images of ``shape`` ``(C, H, W)`` per network call: ``batch_size``, fewer for large
        images so that a call holds at most :data:`MAX_BATCH_PIXELS` pixels, but never fewer than the
        backend runs in parallel (OpenVINO's throughput mode: one image per inference request)."""
        parallel = int(getattr(self.backend, "requests", 1))
        fitting = MAX_BATCH_PIXELS // (int(shape[-2]) * int(shape[-1]))
        return max(1, min(self.batch_size, max(fitting, parallel)))

    def _to_model(self, image: np.ndarray) -> np.ndarray:
        """uint8 ``(H, W, C_in)`` -> float32 ``(C_in, H, W)`` in the model's value range."""
        chw = image.transpose(2, 0, 1).astype(np.float32)  # (C_in, H, W), one copy
        chw *= self._scale
        chw += self._low
        return chw

    def _to_pixels(self, output: np.ndarray) -> np.ndarray:
        """Float ``(C_out, H, W)`` in the model's value range -> uint8 ``(H, W, C_out)``."""
        out = (output - self._low) / self._scale  # back to [0, 255]
        return np.clip(np.rint(out), 0, 255).astype(np.uint8).transpose(1, 2, 0)

    def is_tiled(self, height: int, width: int) -> bool:
        """Whether an image of this (output) size goes through the network tile by tile."""
        return self.tile is not None and (height > self.tile or width > self.tile)

    def _run_tiled(self, prepared: Prepared) -> np.ndarray:
        grid = self.tile_grid(prepared.height, prepared.width)
        return np.concatenate(list(self.run_rows(grid.array_reader(prepared.array), grid)), axis=1)

    def tile_grid(self, height: int, width: int) -> TileGrid:
        """The tiles of an image of this size."""
        assert self.tile is not None
        return TileGrid.for_image(
            height, width, tile=self.tile, overlap=self.overlap, size_multiple=self.card.size_multiple
        )

    def run_rows(self, read_rows: RowReader, grid: TileGrid) -> Iterator[np.ndarray]:
        """Network output of a tiled image in bands, top to bottom (float ``(C_out, rows, width)``).

        With ``tile_statistics="whole"`` and an instance-norm generator, the tiles are read first to
        measure the whole image's statistics, once per norm layer (PyTorch models:
        :mod:`i2i.infer.statistics`; ``.onnx`` models: :mod:`i2i.infer.graph_statistics`).
        """
        norms = getattr(self.backend, "norms", None) if self.tile_statistics == "whole" else None
        if norms is None:
            yield from self._blend(self.backend.run, read_rows, grid)
            return

        def tiles() -> Iterator[tuple[np.ndarray, list[tuple[int, int, int, int]]]]:
            for y, chunk, batch in tile_batches(read_rows, grid, self.batch_size):
                yield batch, [grid.region(y, x) for x in chunk]

        with norms.whole_image(tiles) as forward:
            yield from self._blend(forward, read_rows, grid)

    def _blend(self, forward: Forward, read_rows: RowReader, grid: TileGrid) -> Iterator[np.ndarray]:
        return run_tiled_rows(
            forward, read_rows, grid, out_channels=self.card.out_channels, batch_size=self.batch_size
        )
