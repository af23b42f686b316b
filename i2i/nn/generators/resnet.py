"""ResNet generator (Johnson et al. 2016), as used by CycleGAN."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from i2i.nn.blocks import BlurDownsample, BlurUpsample, ResnetBlock
from i2i.nn.generators._checks import check_size
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import GENERATORS
from i2i.nn.taps import check_tap_names


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
        antialias: Anti-aliased resampling, as in CUT's generator: each downsampling is a stride-1
            convolution, norm, ReLU and a stride-2 binomial blur (:class:`~i2i.nn.blocks.BlurDownsample`);
            each upsampling a blurred 2x upsampling (:class:`~i2i.nn.blocks.BlurUpsample`) and a
            stride-1 convolution. Same parameter count; off (the CycleGAN network) by default.
        separable: Depthwise-separable residual blocks (see :class:`~i2i.nn.blocks.ResnetBlock`): the
            mobile ResNet generator of GAN Compression (Li et al. 2020), a cheap student for
            distillation; its name reads ``mobile_resnet_<num_blocks>blocks``. Off by default.

    Feature taps (:class:`~i2i.nn.taps.FeatureTaps`), in forward order: ``input`` (the image),
    ``stem`` (after the 7x7 convolution, norm and ReLU), ``down1`` and ``down2`` (the output of each
    downsampling convolution, before its norm, as CUT taps them), ``block1`` ... ``block<num_blocks>``
    (the output of each residual block).

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
        antialias: bool = False,
        separable: bool = False,
    ) -> None:
        super().__init__()
        self.name = f"{'mobile_' if separable else ''}resnet_{num_blocks}blocks"
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
            *(layer for mult in (1, 2) for layer in _downsampling(c * mult, norm_layer, bias, antialias))
        )
        self.blocks = nn.Sequential(
            *(
                ResnetBlock(c * 4, norm=norm_layer, padding=padding, dropout=dropout, separable=separable)
                for _ in range(num_blocks)
            )
        )
        self.up = nn.Sequential(
            *(layer for mult in (4, 2) for layer in _upsampling(c * mult, norm_layer, bias, antialias))
        )
        self._norm_free = isinstance(self.down[1], nn.Identity)  # the module after down1; see forward_taps
        self._channels = {"input": in_channels, "stem": c, "down1": 2 * c, "down2": 4 * c} | {
            f"block{k + 1}": 4 * c for k in range(num_blocks)
        }
        self.head = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, kernel_size=7, padding=0), nn.Tanh()
        )
        init_weights(self, init, init_gain)

    def forward(self, x: Tensor) -> Tensor:
        check_size(x, self.name, self.size_multiple)
        x = self.down(self.stem(x))  # (B, 4 * base, H / 4, W / 4)
        return self.head(self.up(self.blocks(x)))

    def _stages(self) -> list[tuple[str, nn.Module]]:
        """The encoder's modules in forward order, each with the tap name of its output ("" for none)."""
        convs = iter(("down1", "down2"))
        stages: list[tuple[str, nn.Module]] = [("stem", self.stem)]
        stages += [(next(convs) if isinstance(m, nn.Conv2d) else "", m) for m in self.down]
        return stages + [(f"block{k + 1}", m) for k, m in enumerate(self.blocks)]

    @property
    def tap_names(self) -> tuple[str, ...]:
        """The layers :meth:`forward_taps` can return, in forward order."""
        return tuple(self._channels)

    def tap_channels(self, layers: Sequence[str]) -> list[int]:
        """Channels of each named layer's feature."""
        check_tap_names(self, layers, self.name)
        return [self._channels[layer] for layer in layers]

    def forward_taps(self, x: Tensor, layers: Sequence[str]) -> list[Tensor]:
        """The features of ``layers`` for input ``x`` (see the class docstring); runs the network only
        as far as the last of them.

        Shape:
            - x: :math:`(B, C_{in}, H, W)` in [-1, 1], ``H`` and ``W`` multiples of 4.
            - output: ``input`` :math:`(B, C_{in}, H, W)`; ``stem`` :math:`(B, c, H, W)`; ``down1``
              :math:`(B, 2c, H/2, W/2)` (full size with ``antialias``); ``down2``
              :math:`(B, 4c, H/4, W/4)` (:math:`H/2` with ``antialias``); ``blockK``
              :math:`(B, 4c, H/4, W/4)`, with ``c = base_channels``.
        """
        return self._encode(x, layers, stop_early=True)[1]

    def forward_with_taps(self, x: Tensor, layers: Sequence[str]) -> tuple[Tensor, list[Tensor]]:
        """The output of ``x`` and the features of ``layers``, from one pass (feature distillation).

        Shape:
            - output: :math:`(B, C_{out}, H, W)` in [-1, 1], equal to ``self(x)``, and the features
              as in :meth:`forward_taps`.
        """
        x, features = self._encode(x, layers, stop_early=False)
        return self.head(self.up(x)), features

    def _encode(self, x: Tensor, layers: Sequence[str], *, stop_early: bool) -> tuple[Tensor, list[Tensor]]:
        """Run the encoder (stem, downsamplings, residual blocks), or with ``stop_early`` only as far as
        the last of ``layers``; returns where it stopped and the features of ``layers``."""
        check_size(x, self.name, self.size_multiple)
        check_tap_names(self, layers, self.name)
        found: dict[str, Tensor] = {"input": x}
        for name, module in self._stages():
            if stop_early and found.keys() >= set(layers):
                break
            x = module(x)
            if name:
                found[name] = x
                if name.startswith("down") and self._norm_free:
                    x = x.clone()  # without a norm the in-place ReLU comes next and would change the tap
        return x, [found[layer] for layer in layers]


def _downsampling(channels: int, norm: NormFactory, bias: bool, antialias: bool) -> list[nn.Module]:
    """One downsampling stage ``channels -> 2 * channels``: a stride-2 convolution, norm, ReLU; with
    ``antialias`` a stride-1 convolution, norm, ReLU, then a stride-2 blur."""
    out = channels * 2
    if not antialias:
        return [
            nn.Conv2d(channels, out, kernel_size=3, stride=2, padding=1, bias=bias),
            norm(out),
            nn.ReLU(True),
        ]
    return [
        nn.Conv2d(channels, out, kernel_size=3, stride=1, padding=1, bias=bias),
        norm(out),
        nn.ReLU(True),
        BlurDownsample(out),
    ]


def _upsampling(channels: int, norm: NormFactory, bias: bool, antialias: bool) -> list[nn.Module]:
    """One upsampling stage ``channels -> channels / 2``: a stride-2 transposed convolution, norm, ReLU;
    with ``antialias`` a blurred 2x upsampling, then a stride-1 convolution, norm, ReLU."""
    out = channels // 2
    if not antialias:
        conv = nn.ConvTranspose2d(
            channels, out, kernel_size=3, stride=2, padding=1, output_padding=1, bias=bias
        )
        return [conv, norm(out), nn.ReLU(True)]
    return [
        BlurUpsample(),
        nn.Conv2d(channels, out, kernel_size=3, stride=1, padding=1, bias=bias),
        norm(out),
        nn.ReLU(True),
    ]


@GENERATORS.register
def resnet_6blocks(**kwargs: Any) -> ResnetGenerator:
    """ResNet generator with 6 residual blocks (CycleGAN default at 128 px)."""
    return ResnetGenerator(**{"num_blocks": 6, **kwargs})


@GENERATORS.register
def resnet_9blocks(**kwargs: Any) -> ResnetGenerator:
    """ResNet generator with 9 residual blocks (CycleGAN default at 256 px)."""
    return ResnetGenerator(**{"num_blocks": 9, **kwargs})


@GENERATORS.register
def mobile_resnet_9blocks(**kwargs: Any) -> ResnetGenerator:
    """ResNet generator with 9 depthwise-separable residual blocks (GAN Compression's mobile
    generator, Li et al. 2020): a distillation student, about 1/6 of ``resnet_9blocks``' parameters."""
    return ResnetGenerator(**{"num_blocks": 9, "separable": True, **kwargs})
