"""PixelGAN discriminator: a 1x1 PatchGAN that judges every pixel on its own (colour statistics)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from i2i.nn.blocks import apply_spectral_norm
from i2i.nn.discriminators.patchgan import run_stages
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import DISCRIMINATORS


class PixelDiscriminator(nn.Module):
    """Three 1x1 convolutions: ``in -> base -> 2 * base -> 1`` logit per pixel (reference ``PixelDiscriminator``).

    Args:
        in_channels: Channels in.
        base_channels: Channels of the first convolution (the reference's ``ndf``).
        norm: ``"batch"``, ``"instance"``, ``"none"`` or a callable ``channels -> nn.Module``.
        spectral_norm: Put spectral normalisation on every convolution.
        init: Weight init, see :func:`i2i.nn.init.init_weights`.
        init_gain: Gain of the weight init.

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`.
        - Output: :math:`(B, 1, H, W)` raw logits.

    Example:
        >>> import torch
        >>> PixelDiscriminator(in_channels=6, base_channels=4)(torch.zeros(2, 6, 5, 7)).shape
        torch.Size([2, 1, 5, 7])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_channels: int = 64,
        norm: str | NormFactory = "batch",
        spectral_norm: bool = False,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        norm_layer = get_norm(norm)
        bias = conv_bias(norm_layer)
        c = base_channels
        self.stages = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(in_channels, c, 1), nn.LeakyReLU(0.2, True)),
                nn.Sequential(nn.Conv2d(c, c * 2, 1, bias=bias), norm_layer(c * 2), nn.LeakyReLU(0.2, True)),
                nn.Conv2d(c * 2, 1, 1, bias=bias),
            ]
        )
        init_weights(self, init, init_gain)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.stages:
            x = stage(x)
        return x

    def forward_features(self, x: Tensor) -> list[Tensor]:
        """The output of every layer (after its activation); the last entry is the logits."""
        return run_stages(self.stages, x)


@DISCRIMINATORS.register
def pixelgan(**kwargs: Any) -> PixelDiscriminator:
    """PixelGAN discriminator: 1x1 patches, judges colours only."""
    return PixelDiscriminator(**kwargs)
