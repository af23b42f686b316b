"""Building blocks shared by the generators and discriminators."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.conv import _ConvNd
from torch.nn.utils.parametrizations import spectral_norm

from i2i.nn.norms import NormFactory, conv_bias

PADDINGS: tuple[str, ...] = ("reflect", "replicate", "zero")


def padded_conv3x3(channels: int, padding: str, bias: bool) -> list[nn.Module]:
    """A 3x3, stride-1 convolution that keeps the size, padded by ``padding``.

    Args:
        channels: Input and output channels.
        padding: ``"reflect"``, ``"replicate"`` or ``"zero"`` (the convolution pads with zeros itself).
        bias: Whether the convolution has a bias.

    Raises:
        ValueError: for an unknown ``padding``.
    """
    if padding == "reflect":
        return [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, padding=0, bias=bias)]
    if padding == "replicate":
        return [nn.ReplicationPad2d(1), nn.Conv2d(channels, channels, 3, padding=0, bias=bias)]
    if padding == "zero":
        return [nn.Conv2d(channels, channels, 3, padding=1, bias=bias)]
    raise ValueError(f"unknown padding {padding!r} (known: {', '.join(PADDINGS)})")


def padded_separable_conv3x3(channels: int, padding: str, bias: bool, norm: NormFactory) -> list[nn.Module]:
    """A depthwise-separable 3x3 convolution that keeps the size: a depthwise 3x3 convolution (one
    filter per channel), ``norm``, then a pointwise 1x1 convolution mixing the channels (MobileNet's
    factorisation, as GAN Compression's mobile ResNet generator uses it). About ``9 / channels + 1``
    of the multiply-adds of :func:`padded_conv3x3` per pixel, and ``1 / 9`` of the parameters for wide layers.

    Args:
        channels: Input and output channels.
        padding: ``"reflect"``, ``"replicate"`` or ``"zero"``.
        bias: Whether the convolutions carry biases.
        norm: Norm factory applied between the two convolutions.
    """
    pad = padded_conv3x3(channels, padding, bias)[:-1]  # the same padding (checks its name too)
    own = 1 if padding == "zero" else 0  # zero padding: the convolution pads itself
    depthwise = nn.Conv2d(channels, channels, 3, padding=own, groups=channels, bias=bias)
    return [*pad, depthwise, norm(channels), nn.Conv2d(channels, channels, 1, bias=bias)]


class ResnetBlock(nn.Module):
    """Residual block ``x + norm(conv(relu(norm(conv(x)))))`` with optional dropout in between.

    Args:
        channels: Input and output channels.
        norm: Norm factory (see :func:`i2i.nn.norms.get_norm`).
        padding: ``"reflect"``, ``"replicate"`` or ``"zero"``.
        dropout: Dropout probability after the first convolution (0 disables).
        separable: Each 3x3 convolution is depthwise-separable (:func:`padded_separable_conv3x3`), as
            in GAN Compression's mobile ResNet block.

    Shape:
        - Input: :math:`(B, C, H, W)`.
        - Output: :math:`(B, C, H, W)`.

    Example:
        >>> from i2i.nn.norms import instance_norm
        >>> ResnetBlock(4, norm=instance_norm)(torch.zeros(1, 4, 8, 8)).shape
        torch.Size([1, 4, 8, 8])
        >>> sum(p.numel() for p in ResnetBlock(4, norm=instance_norm, separable=True).parameters())
        120
    """

    def __init__(
        self,
        channels: int,
        *,
        norm: NormFactory,
        padding: str = "reflect",
        dropout: float = 0.0,
        separable: bool = False,
    ) -> None:
        super().__init__()
        bias = conv_bias(norm)

        def conv() -> list[nn.Module]:
            if separable:
                return padded_separable_conv3x3(channels, padding, bias, norm)
            return padded_conv3x3(channels, padding, bias)

        layers: list[nn.Module] = [*conv(), norm(channels), nn.ReLU(True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [*conv(), norm(channels)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class BlurDownsample(nn.Module):
    """Anti-aliased 2x downsampling: a [1, 2, 1] x [1, 2, 1] / 16 binomial blur with stride 2 on every
    channel, after reflection padding (Zhang, "Making Convolutional Networks Shift-Invariant Again",
    ICML 2019; used by CUT's generator). No parameters; the filter is a non-persistent buffer, so
    checkpoints hold only the network's learned weights.

    Args:
        channels: Input and output channels (the blur is depthwise).

    Shape:
        - Input: :math:`(B, C, H, W)`, ``H`` and ``W`` even.
        - Output: :math:`(B, C, H / 2, W / 2)`; a constant image stays the same constant.

    Example:
        >>> BlurDownsample(2)(torch.ones(1, 2, 8, 6))[0, 0]
        tensor([[1., 1., 1.],
                [1., 1., 1.],
                [1., 1., 1.],
                [1., 1., 1.]])
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = torch.outer(taps, taps) / 16  # sums to 1
        self.channels = channels
        self.kernel: Tensor
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(x, self.kernel.to(x.dtype), stride=2, groups=self.channels)


class BlurUpsample(nn.Module):
    """Anti-aliased 2x upsampling: bilinear interpolation (half-pixel centres), which is zero insertion
    followed by the [1, 3, 3, 1] binomial blur with replicated borders. No parameters.

    Shape:
        - Input: :math:`(B, C, H, W)`.
        - Output: :math:`(B, C, 2H, 2W)`.

    Example:
        >>> BlurUpsample()(torch.tensor([[[[0.0, 4.0]]]]))[0, 0, 0]
        tensor([0., 1., 3., 4.])
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class UnetSkipBlock(nn.Module):
    """One level of a U-Net: downsample, run the inner levels, upsample, concatenate the skip.

    The levels nest: the block of level ``k`` holds the block of level ``k + 1`` as ``submodule``, so the
    parameters come in the same order as in the reference implementation (down, inner levels, up).

    Args:
        outer_channels: Channels this level returns (before the skip concatenation).
        inner_channels: Channels after this level's downsampling convolution.
        in_channels: Channels coming in (default ``outer_channels``; the image channels at the outermost level).
        submodule: The next-inner level; ``None`` for the innermost level.
        outermost: The top level: no skip concatenation, ends with tanh.
        norm: Norm factory (see :func:`i2i.nn.norms.get_norm`).
        dropout: Dropout probability after this level's upsampling (0 disables).

    Shape:
        - Input: :math:`(B, C_{in}, H, W)` with ``H`` and ``W`` even.
        - Output: :math:`(B, C_{in} + C_{outer}, H, W)`, or :math:`(B, C_{outer}, H, W)` in [-1, 1]
          at the outermost level.

    Example:
        >>> from i2i.nn.norms import batch_norm
        >>> inner = UnetSkipBlock(8, 8, norm=batch_norm)
        >>> UnetSkipBlock(3, 8, in_channels=1, submodule=inner, outermost=True, norm=batch_norm)(
        ...     torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(
        self,
        outer_channels: int,
        inner_channels: int,
        *,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        norm: NormFactory,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        innermost = submodule is None
        bias = conv_bias(norm)
        in_channels = outer_channels if in_channels is None else in_channels
        down_conv = nn.Conv2d(in_channels, inner_channels, kernel_size=4, stride=2, padding=1, bias=bias)
        up_in = inner_channels if innermost else inner_channels * 2  # the inner level concatenated its skip
        if outermost:
            up_conv = nn.ConvTranspose2d(up_in, outer_channels, kernel_size=4, stride=2, padding=1)
            self.down = nn.Sequential(down_conv)
            up: list[nn.Module] = [nn.ReLU(True), up_conv, nn.Tanh()]
        else:
            up_conv = nn.ConvTranspose2d(up_in, outer_channels, kernel_size=4, stride=2, padding=1, bias=bias)
            down: list[nn.Module] = [nn.LeakyReLU(0.2, True), down_conv]
            if not innermost:
                down.append(norm(inner_channels))
            self.down = nn.Sequential(*down)
            up = [nn.ReLU(True), up_conv, norm(outer_channels)]
            if dropout > 0:
                up.append(nn.Dropout(dropout))
        self.submodule = submodule if submodule is not None else nn.Identity()
        self.up = nn.Sequential(*up)

    def forward(self, x: Tensor) -> Tensor:
        y = self.up(self.submodule(self.down(x)))
        return y if self.outermost else torch.cat([x, y], dim=1)


def apply_spectral_norm(module: nn.Module) -> None:
    """Put spectral normalisation on the weight of every convolution in ``module`` (in place).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        >>> apply_spectral_norm(net)
        >>> hasattr(net[0], "parametrizations")
        True
    """
    convs = [m for m in module.modules() if isinstance(m, _ConvNd)]
    for conv in convs:
        spectral_norm(conv)
