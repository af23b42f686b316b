"""Whole-image instance-norm statistics for a PyTorch generator (the scheme: :mod:`i2i.infer.statistics`).

:class:`WholeImageNorms` replaces the generator's ``InstanceNorm2d`` layers by :class:`TileNorm` layers
whose statistics can be fixed from outside, and measures them one pass per layer. The ONNX half is
:mod:`i2i.infer.graph_statistics`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from i2i.infer.statistics import Forward, TileBatches, moments
from i2i.infer.tiling import Region

__all__ = ["TileNorm", "WholeImageNorms"]


class _Stop(Exception):
    """Raised by the layer being measured: nothing after it is needed in this pass."""


class TileNorm(nn.Module):
    """Instance norm whose mean and variance can be fixed, or summed over regions of the tiles.

    With nothing set it computes exactly what ``nn.InstanceNorm2d`` (without running statistics) does.

    Args:
        norm: The instance norm it replaces (its ``eps`` and affine parameters are kept).

    Shape:
        - Input: ``(B, C, H, W)``; output: the same.

    Example:
        >>> norm = nn.InstanceNorm2d(2)
        >>> x = torch.randn(1, 2, 4, 4)
        >>> bool(torch.allclose(TileNorm(norm)(x), norm(x)))
        True
    """

    def __init__(self, norm: nn.InstanceNorm2d) -> None:
        super().__init__()
        self.eps = norm.eps
        self.weight = norm.weight
        self.bias = norm.bias
        self.fixed: tuple[Tensor, Tensor] | None = None  # (C,) mean and (C,) biased variance
        self.measuring = False
        self.regions: Sequence[Region] = ()
        self.tile = 0
        self.sums: Tensor | None = None  # float64 (3, C): count, sum, sum of squares

    def forward(self, x: Tensor) -> Tensor:
        if self.fixed is None:
            if self.measuring:
                self._accumulate(x)
                raise _Stop
            return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)
        mean, var = (t.to(device=x.device, dtype=x.dtype)[:, None, None] for t in self.fixed)
        y = (x - mean) * torch.rsqrt(var + self.eps)
        if self.weight is not None and self.bias is not None:
            y = y * self.weight[:, None, None] + self.bias[:, None, None]
        return y

    def _accumulate(self, x: Tensor) -> None:
        """Add the sums of ``x`` over each tile's region (given in input pixels) to :attr:`sums`."""
        stride = self.tile // x.shape[-1]  # this layer works at 1 / stride of the input resolution
        if self.sums is None:
            self.sums = torch.zeros(3, x.shape[1], dtype=torch.float64, device=x.device)
        for item, (top, bottom, left, right) in zip(x, self.regions, strict=True):
            part = item[:, top // stride : bottom // stride, left // stride : right // stride].double()
            self.sums[0] += part[0].numel()
            self.sums[1] += part.sum(dim=(1, 2))
            self.sums[2] += (part * part).sum(dim=(1, 2))

    def settle(self) -> None:
        """Fix the statistics summed so far (the mean and biased variance of all regions)."""
        assert self.sums is not None, "settle() before any tile was measured"
        mean, var = moments(*self.sums.cpu().numpy())
        self.fixed = (torch.from_numpy(mean).float(), torch.from_numpy(var).float())
        self.sums = None
        self.measuring = False


class WholeImageNorms:
    """The :class:`TileNorm` layers of one generator and the passes that measure them.

    Args:
        module: A generator; its ``InstanceNorm2d`` layers are replaced in place by :class:`TileNorm`
            (which behaves the same until statistics are fixed).
        forward: Runs the generator on a batch (under ``inference_mode``): its backend's ``run``.

    Attributes:
        layers: The replaced layers (registration order; the passes find the order of the forward pass).
    """

    def __init__(self, module: nn.Module, forward: Forward) -> None:
        self.forward = forward
        self.layers: list[TileNorm] = []
        for parent in list(module.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.InstanceNorm2d) and not child.track_running_stats:
                    layer = TileNorm(child)
                    setattr(parent, name, layer)
                    self.layers.append(layer)

    @contextmanager
    def whole_image(self, tiles: TileBatches) -> Iterator[Forward]:
        """A forward that normalises every tile with the statistics of the whole image ``tiles`` cover.

        Every layer is fixed to the whole image's statistics for the block (measured first, reading
        ``tiles`` once per norm layer), and released after it.
        """
        try:
            for _ in self.layers:  # one pass per layer; each pass fixes the first layer not yet fixed
                for layer in self.layers:
                    layer.measuring = layer.fixed is None
                measured = None
                for batch, regions in tiles():
                    for layer in self.layers:
                        layer.regions = regions
                        layer.tile = batch.shape[-1]
                    try:
                        self.forward(batch)
                    except _Stop:
                        measured = next(layer for layer in self.layers if layer.sums is not None)
                    else:
                        break  # every layer it met was fixed
                if measured is None:
                    break
                measured.settle()
            for layer in self.layers:
                layer.measuring = False
            yield self.forward
        finally:
            self.release()

    def release(self) -> None:
        """Back to per-image statistics (plain instance norm)."""
        for layer in self.layers:
            layer.fixed, layer.sums, layer.measuring, layer.regions = None, None, False, ()
