"""Whole-image instance-norm statistics for tiled inference: the scheme, and what its two halves share.

Instance norm normalises each channel with the mean and variance of the image it sees. A tile sees only
part of the photo, so a tiled run of an instance-norm generator (the CycleGAN default) would normalise
every tile with its own statistics and shift each tile's tone. :class:`~i2i.infer.module_statistics.WholeImageNorms`
(PyTorch modules) and :class:`~i2i.infer.graph_statistics.GraphNorms` (ONNX graphs) instead fix every
norm layer's statistics to the whole image's, measured tile by tile first:

* The statistics of norm layer ``k`` depend on the outputs of layers ``< k``, which are normalised with
  their own statistics. So the measurement takes one pass over the tiles per norm layer: in pass ``k``
  the first ``k`` layers (in the order the forward pass meets them) are fixed, and the tiles run,
  summing layer ``k``'s input over each tile's own region (:meth:`TileGrid.region
  <i2i.infer.tiling.TileGrid.region>`; the regions partition the image). A PyTorch module stops at layer
  ``k``: ResNet-9 has 23 norm layers and most of its work lies in the blocks, so its passes cost 8 to 15
  tiled runs (measured, README). An ONNX graph always runs to its end, so each pass is a whole tiled run.
* Each pass reads the tiles again from a :data:`~i2i.infer.tiling.RowReader`, so memory stays at one row
  of tiles whatever the photo size (the streamed path of ``i2i translate`` reads them from a file).
* Then the tiles run with every layer fixed. At pixels farther from a tile's edge than the network's
  receptive radius the result equals whole-image inference (up to float rounding); nearer the edge the
  zero / reflect padding of the convolutions still differs, which the blend window mostly hides.

Batch norm in eval mode is already a fixed affine map and needs none of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from i2i.infer.tiling import Region

__all__ = ["Forward", "TileBatches", "moments"]

Forward = Callable[[np.ndarray], np.ndarray]
"""A backend's ``run``: float ``(B, C_in, H, W)`` -> ``(B, C_out, H, W)``."""
TileBatches = Callable[[], Iterable[tuple[np.ndarray, Sequence[Region]]]]
"""Called once per pass: the tiles, ``(B, C_in, tile, tile)`` float batches with each tile's region."""


def moments(count: np.ndarray, total: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased variance from a count, a sum and a sum of squares (float64 arrays of one shape).

    Example:
        >>> x = np.array([1.0, 2.0, 6.0])
        >>> moments(np.array(3.0), x.sum(), (x * x).sum())
        (np.float64(3.0), np.float64(4.666666666666666))
    """
    mean = total / count
    return mean, np.maximum(squares / count - mean * mean, 0.0)
