"""Multi-scale discriminator (pix2pixHD, Wang et al. 2018): PatchGANs on an image pyramid."""

from __future__ import annotations

from typing import Any, cast

from torch import Tensor, nn

from i2i.nn.discriminators.patchgan import PatchGANDiscriminator
from i2i.nn.norms import NormFactory
from i2i.nn.registries import DISCRIMINATORS


class MultiscaleDiscriminator(nn.Module):
    """``num_scales`` independent PatchGANs; scale ``k`` sees the input average-pooled ``k`` times.

    Each pooling is 3x3, stride 2, padding 1, without counting the padding, as in pix2pixHD. Coarse scales
    judge global structure, the finest one details.

    Args:
        in_channels: Channels in.
        base_channels: Channels of each PatchGAN's first convolution.
        num_layers: Stride-2 convolutions per PatchGAN.
        num_scales: Number of PatchGANs (and pyramid levels).
        norm: ``"batch"``, ``"instance"``, ``"none"`` or a callable ``channels -> nn.Module``.
        spectral_norm: Put spectral normalisation on every convolution.
        init: Weight init, see :func:`i2i.nn.init.init_weights`.
        init_gain: Gain of the weight init.

    Shape:
        - Input: :math:`(B, C_{in}, H, W)`.
        - Output: a list of ``num_scales`` logit maps :math:`(B, 1, H_k, W_k)`, finest first.

    Example:
        >>> import torch
        >>> d = MultiscaleDiscriminator(base_channels=4, num_scales=2)
        >>> [tuple(y.shape) for y in d(torch.zeros(1, 3, 64, 64))]
        [(1, 1, 6, 6), (1, 1, 2, 2)]
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_channels: int = 64,
        num_layers: int = 3,
        num_scales: int = 3,
        norm: str | NormFactory = "batch",
        spectral_norm: bool = False,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if num_scales < 1:
            raise ValueError(f"MultiscaleDiscriminator needs num_scales >= 1, got {num_scales}")
        self.scales = nn.ModuleList(
            PatchGANDiscriminator(
                in_channels=in_channels,
                base_channels=base_channels,
                num_layers=num_layers,
                norm=norm,
                spectral_norm=spectral_norm,
                init=init,
                init_gain=init_gain,
            )
            for _ in range(num_scales)
        )
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def _pyramid(self, x: Tensor) -> list[Tensor]:
        levels = [x]
        for _ in range(len(self.scales) - 1):
            levels.append(self.downsample(levels[-1]))
        return levels

    def forward(self, x: Tensor) -> list[Tensor]:
        return [d(level) for d, level in zip(self.scales, self._pyramid(x), strict=True)]

    def forward_features(self, x: Tensor) -> list[list[Tensor]]:
        """Per scale (finest first), the output of every PatchGAN layer; each inner list ends with the logits."""
        scales = cast(list[PatchGANDiscriminator], list(self.scales))
        return [d.forward_features(level) for d, level in zip(scales, self._pyramid(x), strict=True)]


@DISCRIMINATORS.register
def multiscale(**kwargs: Any) -> MultiscaleDiscriminator:
    """pix2pixHD multi-scale discriminator: 3 PatchGANs on a 3-level image pyramid by default."""
    return MultiscaleDiscriminator(**kwargs)
