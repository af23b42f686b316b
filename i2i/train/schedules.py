"""Learning-rate schedules by epoch (``LambdaLR``), stepped once at the end of every epoch.

``linear`` is the pix2pix/CycleGAN schedule: the reference's ``lambda_rule`` with ``epoch_count=1``,
constant for ``epochs`` epochs, then decaying linearly over ``epochs_decay`` epochs::

    factor(e) = 1 - max(0, e + 1 - epochs) / (epochs_decay + 1)        e = 0, 1, ... (0-based epoch)

so the last epoch (``e = epochs + epochs_decay - 1``) runs at ``lr / (epochs_decay + 1)`` and the
factor reaches 0 one epoch after the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["SCHEDULES", "create_scheduler", "lr_factor"]

SCHEDULES: tuple[str, ...] = ("linear", "step", "cosine", "constant")


def lr_factor(
    schedule: str, *, epochs: int, epochs_decay: int, step_size: int = 50
) -> Callable[[int], float]:
    """The multiplier of the initial learning rate during 0-based epoch ``e``.

    Args:
        schedule: ``"linear"`` (reference ``lambda_rule``), ``"step"`` (x0.1 every ``step_size``
            epochs), ``"cosine"`` (from 1 to 0 over ``epochs + epochs_decay`` epochs) or ``"constant"``.
        epochs: Epochs at the initial rate (``linear``).
        epochs_decay: Epochs of linear decay (``linear``).
        step_size: Epochs between decays (``step``).

    Example:
        >>> f = lr_factor("linear", epochs=2, epochs_decay=3)
        >>> [round(f(e), 2) for e in range(6)]
        [1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if schedule == "linear":
        return lambda e: 1.0 - max(0, e + 1 - epochs) / float(epochs_decay + 1)
    if schedule == "step":
        return lambda e: 0.1 ** (e // step_size)
    if schedule == "cosine":
        total = max(1, epochs + epochs_decay)
        return lambda e: 0.5 * (1.0 + math.cos(math.pi * min(e, total) / total))
    if schedule == "constant":
        return lambda e: 1.0
    raise ValueError(f"unknown schedule {schedule!r} (known: {', '.join(SCHEDULES)})")


def create_scheduler(
    optimizer: Optimizer, schedule: str, *, epochs: int, epochs_decay: int, step_size: int = 50
) -> LambdaLR:
    """A ``LambdaLR`` over ``optimizer`` with :func:`lr_factor`; call ``.step()`` after every epoch."""
    return LambdaLR(
        optimizer, lr_factor(schedule, epochs=epochs, epochs_decay=epochs_decay, step_size=step_size)
    )
