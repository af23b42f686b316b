"""StarGAN discriminator: PatchGAN real/fake logits (D_src) and a domain classifier (D_cls) on shared
features (Choi et al., "StarGAN", CVPR 2018)."""

from __future__ import annotations

from typing import Any, Literal, overload

import torch
from torch import Tensor, nn

from i2i.nn.blocks import apply_spectral_norm
from i2i.nn.discriminators.patchgan import run_stages
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import DISCRIMINATORS


class StarGANDiscriminator(nn.Module):
    """``num_layers`` stride-2 4x4 convolutions with LeakyReLU(0.01), then two heads.

    - ``D_src``: a 3x3 convolution to one channel, a PatchGAN map of real/fake logits
      (:meth:`forward`): 2x2 for 128 px with 6 layers, as in the paper.
    - ``D_cls``: a convolution whose kernel covers the whole final map, to ``num_domains`` logits
      (``forward(x, with_classes=True)``); it needs inputs of ``image_size``.

    Channels double per layer from ``base_channels`` (64 -> 2048 over 6 layers in the paper); no
    normalisation by default, as the paper's WGAN-GP critic.

    Args:
        in_channels: Image channels.
        num_domains: Domains ``D`` the classifier distinguishes.
        image_size: Training image size; sets the classifier's kernel (``image_size / 2**L``).
        base_channels: Channels of the first convolution.
        num_layers: Stride-2 convolutions (6 in the paper).
        norm: Norm after every convolution but the first (``"none"`` in the paper).
        spectral_norm: Spectral normalisation on every convolution.
        init: Weight init.
        init_gain: Gain of the weight init.

    Shape:
        - Input: :math:`(B, C, H, W)`, ``H`` and ``W`` multiples of :math:`2^L`.
        - Output: :math:`(B, 1, H / 2^L, W / 2^L)`; class logits :math:`(B, D)`.

    Example:
        >>> d = StarGANDiscriminator(num_domains=3, image_size=32, base_channels=4, num_layers=3)
        >>> src, cls = d(torch.zeros(2, 3, 32, 32), with_classes=True)
        >>> tuple(src.shape), tuple(cls.shape)
        ((2, 1, 4, 4), (2, 3))
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        num_domains: int = 2,
        image_size: int = 128,
        base_channels: int = 64,
        num_layers: int = 6,
        norm: str | NormFactory = "none",
        spectral_norm: bool = False,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if num_layers < 1 or image_size % 2**num_layers:
            raise ValueError(
                f"stargan discriminator: image_size {image_size} must be a multiple of 2**num_layers "
                f"({2**num_layers})"
            )
        norm_layer = get_norm(norm)
        bias = conv_bias(norm_layer)
        c = base_channels
        stages: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(in_channels, c, 4, stride=2, padding=1), nn.LeakyReLU(0.01, True))
        ]
        for _ in range(num_layers - 1):
            stages.append(
                nn.Sequential(
                    nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=bias),
                    norm_layer(2 * c),
                    nn.LeakyReLU(0.01, True),
                )
            )
            c *= 2
        self.image_size = image_size
        self.num_domains = num_domains
        self.features = nn.ModuleList(stages)
        self.src = nn.Conv2d(c, 1, 3, stride=1, padding=1, bias=False)  # D_src
        self.cls = nn.Conv2d(c, num_domains, image_size // 2**num_layers, bias=False)  # D_cls
        init_weights(self, init, init_gain)
        if spectral_norm:
            apply_spectral_norm(self)

    def _phi(self, x: Tensor) -> Tensor:
        for stage in self.features:
            x = stage(x)
        return x

    @overload
    def forward(self, x: Tensor, *, with_classes: Literal[False] = False) -> Tensor: ...

    @overload
    def forward(self, x: Tensor, *, with_classes: Literal[True]) -> tuple[Tensor, Tensor]: ...

    def forward(self, x: Tensor, *, with_classes: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """``D_src(x)``; with ``with_classes=True`` the pair ``(D_src(x), D_cls(x))``, domain logits
        ``(B, num_domains)`` (one call, so it works under DDP)."""
        if not with_classes:
            return self.src(self._phi(x))
        if not torch.compiler.is_compiling() and (
            x.shape[2] != self.image_size or x.shape[3] != self.image_size
        ):
            raise ValueError(
                f"the stargan domain classifier was built for {self.image_size}x{self.image_size} images, "
                f"got {x.shape[2]}x{x.shape[3]}"
            )
        phi = self._phi(x)
        return self.src(phi), self.cls(phi).flatten(1)

    def forward_features(self, x: Tensor) -> list[Tensor]:
        """The output of every layer (after its activation); the last entry is the D_src logits."""
        features = run_stages(self.features, x)
        return [*features, self.src(features[-1])]


@DISCRIMINATORS.register
def stargan(**kwargs: Any) -> StarGANDiscriminator:
    """StarGAN discriminator: PatchGAN D_src and a domain classifier D_cls (stargan)."""
    return StarGANDiscriminator(**kwargs)
