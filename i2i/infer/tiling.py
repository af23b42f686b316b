"""Padding to the model's size multiple and tiled inference for photos larger than memory allows.

**Padding.** Generators need ``H`` and ``W`` divisible by their size multiple (4 for ResNet, 256 for
U-Net 256). :func:`pad_to_multiple` pads at the bottom and right with a mirror image of the border
(reflect), which looks like more of the photo to the network, and the output is cropped back. Reflect
padding needs the pad to be smaller than the side; tiny images fall back to repeating the edge pixels.

**Tiling.** :func:`run_tiled` cuts a large image into ``tile x tile`` windows that overlap by
``overlap`` pixels, runs them in batches and blends the outputs with a weight window:

* along each axis, inside the ``overlap`` band shared with a neighbour, a tile's weight is 0 on the
  quarter of the band nearest its own edge (where the padding of its convolutions distorts the output),
  rises as a raised cosine ``sin^2`` over the middle half, and is 1 on the quarter nearest its centre;
  at the image borders it stays 1. The rising ramp of one tile and the falling ramp of its neighbour
  add up to exactly 1 (``sin^2 + cos^2``) and the 2-D window is the outer product of the 1-D ones, so
  the weights sum to 1 at every pixel and no division is needed;
* the image is padded (reflect) to ``tile + k * (tile - overlap)`` on each side so that every tile is
  full and every overlap is the same; the output is cropped back to the input size exactly;
* tile origins are multiples of the size multiple (the overlap is rounded up to it): the strided
  convolutions of a tile then sample the same pixel grid as on the whole image.

The tiles run one row at a time (:func:`run_tiled_rows`): the input is read one band of ``tile`` rows
at a time (:data:`RowReader`) and the output is yielded band by band as soon as the next row of tiles no
longer adds to it, so only one row of tiles exists at a time, whatever the size of the photo, and a
caller can decode and encode the photo in strips (:mod:`i2i.data.strips`).

Which networks tile exactly: a network whose output at a pixel depends only on a finite neighbourhood
(ResNet with ``norm="none"`` or batch norm in eval mode, which is a fixed affine map) gives, at pixels
farther than its receptive radius from a tile's inner edge, exactly the values of the whole image; with
``overlap / 4`` at least that radius, every pixel that gets any weight from a tile is exact, so tiled
and whole-image outputs agree everywhere (up to float rounding). **Instance norm** (the CycleGAN
default) normalises with the mean and variance of the image it sees; a tile normalised with its own
statistics changes tone, so :class:`~i2i.infer.translator.Translator` first measures the whole image's
statistics tile by tile (:mod:`i2i.infer.statistics`, over the regions of :meth:`TileGrid.region`) and
then tiles with them fixed. U-Net 256 sees its whole 256-pixel input at the bottleneck, so
tiles must be at least 512 pixels with 256 overlap (the overlap is at most half a tile).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Region",
    "RowReader",
    "TileGrid",
    "blend_window",
    "pad_index",
    "pad_to_multiple",
    "padded_size",
    "ramp",
    "run_tiled",
    "run_tiled_rows",
    "tile_batches",
    "tile_grid",
]


def padded_size(size: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``size`` (and at least ``multiple``).

    Example:
        >>> padded_size(37, 4), padded_size(40, 4), padded_size(1, 256)
        (40, 40, 256)
    """
    return max(multiple, math.ceil(size / multiple) * multiple)


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Pad the last two axes at the bottom / right to multiples of ``multiple``.

    Reflect padding when the pad is smaller than the side (a mirror image of the border), otherwise
    edge padding (repeating the last row / column), which works for any size, even 1 pixel. Crop the
    result of the network back with ``out[..., :h, :w]``.

    Args:
        image: ``(..., H, W)`` array.
        multiple: Target multiple, >= 1.

    Returns:
        ``(..., H', W')`` with ``H'`` and ``W'`` the :func:`padded_size` of ``H`` and ``W``; ``image``
        itself when no padding is needed.

    Example:
        >>> pad_to_multiple(np.array([[1, 2, 3]]), 4)
        array([[1, 2, 3, 2],
               [1, 2, 3, 2],
               [1, 2, 3, 2],
               [1, 2, 3, 2]])
    """
    h, w = image.shape[-2:]
    return pad_to(image, padded_size(h, multiple), padded_size(w, multiple))


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pad the last two axes at the bottom / right to ``height`` x ``width`` (see :func:`pad_to_multiple`)."""
    h, w = image.shape[-2:]
    if height < h or width < w:
        raise ValueError(f"cannot pad a {h}x{w} image to the smaller {height}x{width}")
    if (height, width) == (h, w):
        return image
    lead = [(0, 0)] * (image.ndim - 2)
    # Pad each axis on its own: reflect needs pad < side, which may hold for one axis only.
    for axis, pad in ((-2, height - h), (-1, width - w)):
        if pad == 0:
            continue
        widths = [*lead, (0, 0), (0, 0)]
        widths[axis] = (0, pad)
        if pad < image.shape[axis]:
            image = np.pad(image, widths, mode="reflect")
        else:
            image = np.pad(image, widths, mode="edge")
    return image


def ramp(overlap: int) -> np.ndarray:
    """The rising half of the blend window: ``sin^2(pi/2 * (i + 0.5) / overlap)`` for ``i < overlap``.

    ``ramp(o) + ramp(o)[::-1] == 1`` exactly (up to rounding), so a rising and a falling ramp over the
    same pixels add up to 1.

    Example:
        >>> r = ramp(4)
        >>> bool(np.allclose(r + r[::-1], 1.0)), bool(np.all(np.diff(r) > 0))
        (True, True)
    """
    i = np.arange(overlap, dtype=np.float64)
    return np.sin(0.5 * np.pi * (i + 0.5) / overlap) ** 2


def _window_1d(tile: int, overlap: int, first: bool, last: bool) -> np.ndarray:
    """One axis of a tile's weight: 0 / raised-cosine ramp / 1 over each overlap band (see the module doc)."""
    w = np.ones(tile, dtype=np.float64)
    if overlap > 0:
        margin = overlap // 4
        rising = np.zeros(overlap)
        rising[margin : overlap - margin] = ramp(overlap - 2 * margin)
        rising[overlap - margin :] = 1.0
        if not first:
            w[:overlap] = rising
        if not last:
            w[tile - overlap :] = rising[::-1]
    return w


def blend_window(tile: int, overlap: int, *, top: bool, bottom: bool, left: bool, right: bool) -> np.ndarray:
    """The ``(tile, tile)`` weight of one tile; flags say which sides lie on the image border (weight 1).

    Example:
        >>> w = blend_window(8, 4, top=True, bottom=False, left=True, right=True)
        >>> w.shape, float(w[0, 0]), float(w[-1, 0]) < 0.05
        ((8, 8), 1.0, True)
    """
    rows = _window_1d(tile, overlap, top, bottom)
    cols = _window_1d(tile, overlap, left, right)
    return np.outer(rows, cols).astype(np.float32)


def tile_grid(size: int, tile: int, overlap: int) -> tuple[list[int], int]:
    """Tile origins along one axis and the padded length they cover exactly.

    Example:
        >>> tile_grid(100, 64, 16)
        ([0, 48], 112)
        >>> tile_grid(30, 64, 16)
        ([0], 64)
    """
    if not 0 <= 2 * overlap <= tile:
        raise ValueError(f"overlap must be in [0, tile / 2], got overlap={overlap}, tile={tile}")
    stride = tile - overlap
    count = 1 + max(0, math.ceil((size - tile) / stride))
    return [i * stride for i in range(count)], tile + (count - 1) * stride


def tile_overlap(tile: int, overlap: int, size_multiple: int, min_size: int = 1) -> int:
    """The overlap :func:`run_tiled` uses: ``overlap`` rounded up to the size multiple, after checking
    that the settings can work (so a bad ``--tile`` / ``--overlap`` fails once, before any image).

    Raises:
        ValueError: ``tile`` is not a positive multiple of ``size_multiple``, is below ``min_size``, or
            the rounded overlap exceeds ``tile / 2``.
    """
    if tile <= 0 or tile % size_multiple:
        raise ValueError(
            f"--tile must be a positive multiple of the model's size multiple {size_multiple}, got {tile}"
        )
    if tile < min_size:
        raise ValueError(f"--tile {tile} is smaller than the model takes (at least {min_size} px per side)")
    overlap = math.ceil(max(overlap, 0) / size_multiple) * size_multiple
    if 2 * overlap > tile:  # a pixel would then lie in more than two tiles' bands and the weights break
        raise ValueError(
            f"--overlap (rounded up to the size multiple {size_multiple}: {overlap}) must be at most half of "
            f"--tile {tile}"
        )
    return overlap


def pad_index(size: int, padded: int) -> np.ndarray:
    """Source index of every position of one axis padded from ``size`` to ``padded`` as :func:`pad_to` pads.

    Reflect (without the edge) when the pad is smaller than ``size``, else edge; reading the rows of a
    file through these indices gives exactly the rows of the padded array without holding the image.

    Example:
        >>> pad_index(5, 8).tolist(), pad_index(1, 3).tolist()
        ([0, 1, 2, 3, 4, 3, 2, 1], [0, 0, 0])
    """
    index = np.arange(padded)
    pad = padded - size
    if 0 < pad < size:
        return np.where(index < size, index, 2 * (size - 1) - index)
    return np.minimum(index, size - 1)


Region = tuple[int, int, int, int]
"""``(top, bottom, left, right)`` of a rectangle inside a tile, in pixels from the tile's origin."""

RowReader = Callable[[int, int], np.ndarray]
"""``(start, stop)`` -> float ``(C_in, stop - start, padded_width)``: rows of the padded image."""


@dataclass(frozen=True)
class TileGrid:
    """Where the tiles of one image lie (see the module doc); build it with :meth:`for_image`.

    Attributes:
        height: Image height. ``width``: image width.
        tile: Tile side. ``overlap``: overlap of neighbours, a multiple of ``multiple``.
        multiple: The network's size multiple.
        ys: Tile origins down the image. ``xs``: tile origins across.
        padded_height: Height the tiles cover exactly (the image is padded to it); ``padded_width`` likewise.
    """

    height: int
    width: int
    tile: int
    overlap: int
    multiple: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    padded_height: int
    padded_width: int

    @classmethod
    def for_image(
        cls, height: int, width: int, *, tile: int, overlap: int, size_multiple: int = 1
    ) -> TileGrid:
        """The grid for a ``height x width`` image; ``overlap`` is rounded up to ``size_multiple``.

        Raises:
            ValueError: ``tile`` is not a multiple of ``size_multiple`` or the rounded overlap exceeds
                ``tile / 2``.
        """
        overlap = tile_overlap(tile, overlap, size_multiple)
        ys, padded_height = tile_grid(height, tile, overlap)
        xs, padded_width = tile_grid(width, tile, overlap)
        return cls(
            height, width, tile, overlap, size_multiple, tuple(ys), tuple(xs), padded_height, padded_width
        )

    def window(self, y: int, x: int) -> np.ndarray:
        """The ``(tile, tile)`` blend weight of the tile at ``(y, x)``."""
        ys, xs = self.ys, self.xs
        return blend_window(
            self.tile, self.overlap, top=y == ys[0], bottom=y == ys[-1], left=x == xs[0], right=x == xs[-1]
        )

    def region(self, y: int, x: int) -> Region:
        """The part of the tile at ``(y, x)`` that it alone stands for when statistics are summed.

        The regions of all tiles partition the image padded to the size multiple (what whole-image
        inference normalises over); their borders lie in the middle of the overlaps, on the size-multiple
        grid, so they map to whole pixels at every stride of the network.
        """
        top, bottom = _core(self.ys, y, self.overlap, self.multiple, padded_size(self.height, self.multiple))
        left, right = _core(self.xs, x, self.overlap, self.multiple, padded_size(self.width, self.multiple))
        return top, bottom, left, right

    def array_reader(self, image: np.ndarray) -> RowReader:
        """A :data:`RowReader` over a float ``(C_in, H, W)`` array in memory (padded once, here)."""
        padded = pad_to(image, self.padded_height, self.padded_width)
        return lambda start, stop: padded[:, start:stop]


def _core(origins: tuple[int, ...], origin: int, overlap: int, multiple: int, end: int) -> tuple[int, int]:
    """One axis of :meth:`TileGrid.region`, relative to the tile's origin."""
    half = overlap // 2 // multiple * multiple
    i = origins.index(origin)
    start = 0 if i == 0 else origin + half
    stop = end if i == len(origins) - 1 else origins[i + 1] + half
    return start - origin, min(stop, end) - origin


def tile_batches(
    read_rows: RowReader, grid: TileGrid, batch_size: int
) -> Iterator[tuple[int, list[int], np.ndarray]]:
    """The tiles row by row, ``batch_size`` at a time: ``(y, xs of the batch, (B, C_in, tile, tile))``.

    Each row of tiles is read once (``tile`` rows of the padded image), so only one band of the image
    is held whatever its size.
    """
    for y in grid.ys:
        band = read_rows(y, y + grid.tile)  # (C_in, T, W_padded)
        for start in range(0, len(grid.xs), batch_size):
            chunk = list(grid.xs[start : start + batch_size])
            yield y, chunk, np.stack([band[:, :, x : x + grid.tile] for x in chunk])  # (B, C_in, T, T)


def run_tiled_rows(
    run: Callable[[np.ndarray], np.ndarray],
    read_rows: RowReader,
    grid: TileGrid,
    *,
    out_channels: int,
    batch_size: int = 4,
) -> Iterator[np.ndarray]:
    """Translate an image tile by tile and yield the blended output in horizontal bands, top to bottom.

    A band is yielded as soon as the next row of tiles no longer adds to it, so a caller can encode it
    and let it go: memory holds one row of tiles (input and output), whatever the height of the image.

    Args:
        run: A backend's ``run``: float ``(B, C_in, tile, tile)`` -> ``(B, C_out, tile, tile)``.
        read_rows: Rows of the padded input (see :data:`RowReader`).
        grid: The tiles.
        out_channels: Channels of the output.
        batch_size: Tiles per call of ``run``.

    Yields:
        Float ``(C_out, rows, width)``; the bands add up to ``grid.height`` rows.
    """
    tile, overlap = grid.tile, grid.overlap
    done = 0  # output rows yielded so far
    carry: np.ndarray | None = None  # the overlap band, already weighted by the row above
    band: np.ndarray | None = None
    for y, chunk, batch in tile_batches(read_rows, grid, batch_size):
        if band is None:
            band = np.zeros((out_channels, tile, grid.padded_width), dtype=np.float32)
            if carry is not None:
                band[:, :overlap] = carry
        result = run(batch)  # (B, C_out, T, T)
        for x, piece in zip(chunk, result, strict=True):
            band[:, :, x : x + tile] += piece * grid.window(y, x)
        if chunk[-1] != grid.xs[-1]:
            continue
        last = y == grid.ys[-1]
        final = tile if last else tile - overlap  # rows the next row of tiles does not touch
        rows = min(final, grid.height - done)
        if rows > 0:
            yield band[:, :rows, : grid.width]
            done += rows
        carry = None if last else band[:, tile - overlap :].copy()
        band = None


def run_tiled(
    run: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    *,
    tile: int,
    overlap: int,
    out_channels: int,
    size_multiple: int = 1,
    batch_size: int = 4,
) -> np.ndarray:
    """Translate one large image in memory tile by tile and blend the tiles seamlessly.

    Args:
        run: A backend's ``run``: float ``(B, C_in, tile, tile)`` -> ``(B, C_out, tile, tile)``.
        image: Float ``(C_in, H, W)``, any size.
        tile: Tile side; a multiple of ``size_multiple``.
        overlap: Overlap of neighbouring tiles in pixels, at most ``tile / 2``; rounded up to a multiple
            of ``size_multiple`` so that tile origins stay on the network's stride grid.
        out_channels: Channels of the output.
        size_multiple: The network's size multiple.
        batch_size: Tiles per call of ``run``.

    Returns:
        Float ``(C_out, H, W)``.

    Raises:
        ValueError: ``tile`` is not a multiple of ``size_multiple`` or the rounded overlap exceeds
            ``tile / 2``.
    """
    _, h, w = image.shape
    grid = TileGrid.for_image(h, w, tile=tile, overlap=overlap, size_multiple=size_multiple)
    bands = run_tiled_rows(
        run, grid.array_reader(image), grid, out_channels=out_channels, batch_size=batch_size
    )
    return np.concatenate(list(bands), axis=1)
