"""U-Net generator with skip connections (Ronneberger et al. 2015), as used by pix2pix."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from i2i.nn.blocks import UnetSkipBlock
from i2i.nn.generators._checks import check_size
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, get_norm
from i2i.nn.registries import GENERATORS


class UnetGenerator(nn.Module):
    """``num_downs`` stride-2 downsamplings to a 1x1 bottleneck (at ``2**num_downs`` px), mirrored back up.

    Channels double per level up to ``8 * base_channels``. The layers and their order match the reference
    pytorch-CycleGAN-and-pix2pix ``UnetGenerator`` (nested skip blocks), so parameter counts are the same
    and its checkpoints map onto this class by structure.

    Args:
        in_channels: Image channels in.
        out_channels: Image channels out.
        base_channels: Channels of the first convolution (the reference's ``ngf``).
        num_downs: Number of downsamplings (at least 5): 7 for 128 px, 8 for 256 px.
        norm: ``"batch"``, ``"instance"``, ``"none"`` or a callable ``channels -> nn.Module``.
        dropout: Dropout probability in the ``num_downs - 5`` decoder levels next to the bottleneck, as in
            pix2pix (0.5 there, where it replaces the noise input); 0 disables.
        init: Weight init, see :func:`i2i.nn.init.init_weights`.
        init_gain: Gain of the weight init.

    Attributes:
        size_multiple: Height and width must be multiples of this (``2**num_downs``).
        name: Name used in error messages (``"unet_256"``).

    Shape:
        - Input: :math:`(B, C_{in}, H, W)` in [-1, 1], ``H`` and ``W`` multiples of ``2**num_downs``.
        - Output: :math:`(B, C_{out}, H, W)` in [-1, 1].

    Example:
        >>> import torch
        >>> g = UnetGenerator(base_channels=2, num_downs=5)
        >>> g.size_multiple, g(torch.zeros(1, 3, 32, 64)).shape
        (32, torch.Size([1, 3, 32, 64]))
    """

    input_kind: str = "image"  # what the model card records: it maps images to images

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_downs: int = 8,
        norm: str | NormFactory = "batch",
        dropout: float = 0.5,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"UnetGenerator needs num_downs >= 5, got {num_downs}")
        self.size_multiple = 2**num_downs
        self.name = f"unet_{self.size_multiple}"
        norm_layer = get_norm(norm)
        c = base_channels
        # Built from the bottleneck outwards: each level wraps the next-inner one.
        block = UnetSkipBlock(c * 8, c * 8, norm=norm_layer)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(c * 8, c * 8, submodule=block, norm=norm_layer, dropout=dropout)
        block = UnetSkipBlock(c * 4, c * 8, submodule=block, norm=norm_layer)
        block = UnetSkipBlock(c * 2, c * 4, submodule=block, norm=norm_layer)
        block = UnetSkipBlock(c, c * 2, submodule=block, norm=norm_layer)
        self.model = UnetSkipBlock(
            out_channels, c, in_channels=in_channels, submodule=block, outermost=True, norm=norm_layer
        )
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        check_size(x, self.name, self.size_multiple)
        return self.model(x)


@GENERATORS.register
def unet_128(**kwargs: Any) -> UnetGenerator:
    """U-Net generator with 7 downsamplings, for 128 px crops (sizes: multiples of 128)."""
    return UnetGenerator(**{"num_downs": 7, **kwargs})


@GENERATORS.register
def unet_256(**kwargs: Any) -> UnetGenerator:
    """U-Net generator with 8 downsamplings, for 256 px crops (pix2pix default; multiples of 256)."""
    return UnetGenerator(**{"num_downs": 8, **kwargs})
