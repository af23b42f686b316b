"""DCGAN discriminator with class conditioning by projection (Miyato & Koyama 2018) or an auxiliary
classifier (ACGAN, Odena et al. 2017)."""

from __future__ import annotations

from typing import Any, Literal, overload

import torch.nn.functional as F
from torch import Tensor, nn

from i2i.nn.blocks import apply_spectral_norm
from i2i.nn.discriminators.patchgan import run_stages
from i2i.nn.init import init_weights
from i2i.nn.norms import NormFactory, conv_bias, get_norm
from i2i.nn.registries import DISCRIMINATORS

CONDITIONINGS: tuple[str, ...] = ("none", "projection", "acgan")


class DCGANDiscriminator(nn.Module):
    """Strided 4x4 convolutions with LeakyReLU(0.2), no pooling, and a 4x4 valid convolution head.

    ``num_layers`` stride-2 convolutions (no norm on the first, as in DCGAN) take a ``4 * 2**L``
    image to a 4x4 feature map ``phi(x)`` that the head turns into one logit; larger inputs give a map
    of logits, one per 4x4 window. The label enters by ``conditioning``:

    - ``"projection"``: ``logit(x, y) = psi(phi(x)) + <embed(y), phi(x)>`` (Miyato & Koyama 2018),
      the inner product averaged over the head's 4x4 window, so it has the shape of the logits.
    - ``"acgan"``: the logits ignore the label; a second 4x4 head classifies the image into
      ``num_classes`` (``forward(x, with_classes=True)``), trained with cross-entropy on real and fake images.
    - ``"none"``: unconditional.

    Args:
        in_channels: Image channels.
        base_channels: Channels of the first convolution (DCGAN's ``ndf``); doubled per layer.
        num_layers: Stride-2 convolutions (``log2(image_size / 4)``: 3 for 32 px, 4 for 64 px).
        num_classes: Labels (projection and acgan).
        conditioning: ``"projection"``, ``"acgan"`` or ``"none"``.
        norm: Norm after every convolution but the first (``"batch"`` in DCGAN; ``"none"`` for WGAN-GP).
        spectral_norm: Spectral normalisation on every convolution and on the class embedding.
        init: Weight init.
        init_gain: Gain of the weight init.

    Shape:
        - Input: :math:`(B, C, H, W)`; labels :math:`(B,)` int64.
        - Output: :math:`(B, 1, H / 2^L - 3, W / 2^L - 3)` logits (``(B, 1, 1, 1)`` at ``4 * 2**L``);
          class logits :math:`(B, K)` for acgan.

    Example:
        >>> import torch
        >>> d = DCGANDiscriminator(in_channels=1, base_channels=4, num_layers=2, num_classes=10,
        ...                        conditioning="projection")
        >>> d(torch.zeros(2, 1, 16, 16), torch.tensor([1, 2])).shape
        torch.Size([2, 1, 1, 1])
    """

    def __init__(
        self,
        *,
        in_channels: int = 3,
        base_channels: int = 64,
        num_layers: int = 3,
        num_classes: int = 10,
        conditioning: str = "none",
        norm: str | NormFactory = "batch",
        spectral_norm: bool = False,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"unknown conditioning {conditioning!r} (known: {', '.join(CONDITIONINGS)})")
        if num_layers < 1:
            raise ValueError(f"dcgan discriminator needs num_layers >= 1, got {num_layers}")
        self.conditioning = conditioning
        self.num_classes = num_classes
        norm_layer = get_norm(norm)
        bias = conv_bias(norm_layer)
        c = base_channels
        stages: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(in_channels, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True))
        ]
        for _ in range(num_layers - 1):
            stages.append(
                nn.Sequential(
                    nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=bias),
                    norm_layer(2 * c),
                    nn.LeakyReLU(0.2, True),
                )
            )
            c *= 2
        self.features = nn.ModuleList(stages)
        self.head = nn.Conv2d(c, 1, 4, stride=1, padding=0)  # psi: one logit per 4x4 window
        self.embedding = nn.Embedding(num_classes, c) if conditioning == "projection" else None
        self.classifier = (
            nn.Conv2d(c, num_classes, 4, stride=1, padding=0) if conditioning == "acgan" else None
        )
        init_weights(self, init, init_gain)
        if self.embedding is not None:
            nn.init.normal_(self.embedding.weight, 0.0, init_gain)
        if spectral_norm:
            apply_spectral_norm(self)
            if self.embedding is not None:
                nn.utils.parametrizations.spectral_norm(self.embedding)

    def _phi(self, x: Tensor) -> Tensor:
        for stage in self.features:
            x = stage(x)
        return x  # (B, C, H / 2^L, W / 2^L)

    def _logits(self, phi: Tensor, labels: Tensor | None) -> Tensor:
        logits = self.head(phi)  # (B, 1, h, w)
        if self.embedding is None:
            return logits
        if labels is None:
            raise ValueError("a projection discriminator needs the labels: call d(x, labels)")
        inner = (self.embedding(labels)[:, :, None, None] * phi).sum(dim=1, keepdim=True)  # (B, 1, H', W')
        return logits + F.avg_pool2d(inner, 4, stride=1)  # <embed(y), phi(x)> per 4x4 window

    @overload
    def forward(
        self, x: Tensor, labels: Tensor | None = None, *, with_classes: Literal[False] = False
    ) -> Tensor: ...

    @overload
    def forward(
        self, x: Tensor, labels: Tensor | None = None, *, with_classes: Literal[True]
    ) -> tuple[Tensor, Tensor | None]: ...

    def forward(
        self, x: Tensor, labels: Tensor | None = None, *, with_classes: bool = False
    ) -> Tensor | tuple[Tensor, Tensor | None]:
        """Logits; with ``with_classes=True`` the pair ``(logits, class_logits)``, where ``class_logits``
        is ``(B, num_classes)`` for acgan and ``None`` otherwise (one call, so it works under DDP)."""
        phi = self._phi(x)
        logits = self._logits(phi, labels)
        if not with_classes:
            return logits
        classes = self.classifier(phi).mean(dim=(2, 3)) if self.classifier is not None else None
        return logits, classes

    def forward_features(self, x: Tensor, labels: Tensor | None = None) -> list[Tensor]:
        """The output of every layer (after its activation); the last entry is the logits."""
        features = run_stages(self.features, x)
        return [*features, self._logits(features[-1], labels)]


@DISCRIMINATORS.register
def dcgan(**kwargs: Any) -> DCGANDiscriminator:
    """DCGAN discriminator, label by projection or auxiliary classifier (cgan)."""
    return DCGANDiscriminator(**kwargs)
