"""Weight initialisation with the reference pytorch-CycleGAN-and-pix2pix semantics."""

from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

INITS: tuple[str, ...] = ("normal", "xavier", "kaiming", "orthogonal")


def init_weights(module: nn.Module, init: str = "normal", gain: float = 0.02) -> None:
    """Initialise every convolution, linear and batch-norm layer of ``module`` in place.

    Convolution and linear weights: ``normal`` ~ N(0, gain), ``xavier`` (normal, gain), ``kaiming``
    (normal, fan-in; ``gain`` unused) or ``orthogonal`` (gain); their biases are set to 0. Batch-norm
    weights ~ N(1, gain), biases 0. Other layers keep their defaults.

    Args:
        module: The network to initialise.
        init: ``"normal"``, ``"xavier"``, ``"kaiming"`` or ``"orthogonal"``.
        gain: Standard deviation (``normal``) or gain (``xavier``, ``orthogonal``).

    Raises:
        ValueError: for an unknown ``init``.

    Example:
        >>> conv = nn.Conv2d(4, 4, 3)
        >>> init_weights(conv, "normal", 0.02)
        >>> bool((conv.bias == 0).all()), conv.weight.detach().std().item() < 0.05
        (True, True)
    """
    if init not in INITS:
        raise ValueError(f"unknown init {init!r} (known: {', '.join(INITS)})")
    for m in module.modules():
        if isinstance(m, (_ConvNd, nn.Linear)):
            if init == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif init == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif init == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BatchNorm) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
