"""ResNet generator (Johnson et al. 2016), as used by CycleGAN."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from i2i.nn.blocks import ResnetBlock
from i2i.nn.generators._checks import check_size
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import GENERATORS


class ResnetGenerator(nn.Module):
    """Two stride-2 downsamplings, ``num_blocks`` residual blocks, two upsamplings, tanh.

    The layers and their order match the reference pytorch-CycleGAN-and-pix2pix ``ResnetGenerator``, so
    parameter counts are the same and its checkpoints map onto this class by structure.

    Args:
        in_channels: Image channels in.
        out_channels: Image channels out.
        base_channels: Channels of the first convolution (the reference's ``ngf``); doubled per downsampling.
        num_blocks: Residual blocks at the bottleneck.
        norm: ``"batch"``, ``"instance"``, ``"none"`` or a callable ``channels -> nn.Module``.
        dropout: Dropout probability inside each residual block (0 disables).
        padding: Padding of the residual blocks: ``"reflect"``, ``"replicate"`` or ``"zero"`` (the 7x7
            convolutions at both ends always reflect, as in the reference).
        init: Weight init, see :func:`i2i.nn.init.init_weights`.
        init_gain: Gain of the weight init.

    Attributes:
        size_multiple: Height and width must be multiples of this (4).
        min_size: Smallest height and width (8): the 1/4-scale features need 2 pixels per side for
            the residual blocks' reflect padding and for instance norm's statistics.
        name: Name used in error messages (``"resnet_9blocks"``).

    Shape:
        - Input: :math:`(B, C_{in}, H, W)` in [-1, 1], ``H`` and ``W`` multiples of 4.
        - Output: :math:`(B, C_{out}, H, W)` in [-1, 1].

    Example:
        >>> import torch
        >>> g = ResnetGenerator(in_channels=1, out_channels=3, base_channels=4, num_blocks=2)
        >>> g(torch.zeros(2, 1, 12, 16)).shape
        torch.Size([2, 3, 12, 16])
    """

    size_multiple: int = 4
    input_kind: str = "image"  # what the model card records: it maps images to images

    def __init__(
        self,
        *,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_blocks: int = 9,
        norm: str | NormFactory = "instance",
        dropout: float = 0.0,
        padding: str = "reflect",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        self.name = f"resnet_{num_blocks}blocks"
        self.min_size = 2 * self.size_multiple
        norm_layer = get_norm(norm)
        bias = conv_bias(norm_layer)
        c = base_channels
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, c, kernel_size=7, padding=0, bias=bias),
            norm_layer(c),
            nn.ReLU(True),
        )
        self.down = nn.Sequential(
            *(
                layer
                for mult in (1, 2)
                for layer in (
                    nn.Conv2d(c * mult, c * mult * 2, kernel_size=3, stride=2, padding=1, bias=bias),
                    norm_layer(c * mult * 2),
                    nn.ReLU(True),
                )
            )
        )
        self.blocks = nn.Sequential(
            *(
                ResnetBlock(c * 4, norm=norm_layer, padding=padding, dropout=dropout)
                for _ in range(num_blocks)
            )
        )
        self.up = nn.Sequential(
            *(
                layer
                for mult in (4, 2)
                for layer in (
                    nn.ConvTranspose2d(
                        c * mult,
                        c * mult // 2,
                        kernel_size=3,
                        stride=2,
                        padding=1,
                        output_padding=1,
                        bias=bias,
                    ),
                    norm_layer(c * mult // 2),
                    nn.ReLU(True),
                )
            )
        )
        self.head = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, kernel_size=7, padding=0), nn.Tanh()
        )
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        check_size(x, self.name, self.size_multiple)
        x = self.down(self.stem(x))  # (B, 4 * base, H / 4, W / 4)
        return self.head(self.up(self.blocks(x)))


@GENERATORS.register
def resnet_6blocks(**kwargs: Any) -> ResnetGenerator:
    """ResNet generator with 6 residual blocks (CycleGAN default at 128 px)."""
    return ResnetGenerator(**{"num_blocks": 6, **kwargs})


@GENERATORS.register
def resnet_9blocks(**kwargs: Any) -> ResnetGenerator:
    """ResNet generator with 9 residual blocks (CycleGAN default at 256 px)."""
    return ResnetGenerator(**{"num_blocks": 9, **kwargs})
