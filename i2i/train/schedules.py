"""Learning-rate schedules by epoch (``LambdaLR``), stepped once at the end of every epoch.

``linear`` is the pix2pix/CycleGAN schedule: the reference's ``lambda_rule`` with ``epoch_count=1``,
constant for ``epochs`` epochs, then decaying linearly over ``epochs_decay`` epochs::

    factor(e) = 1 - max(0, e + 1 - epochs) / (epochs_decay + 1)        e = 0, 1, ... (0-based epoch)

so the last epoch (``e = epochs + epochs_decay - 1``) runs at ``lr / (epochs_decay + 1)`` and the
factor reaches 0 one epoch after the end.

``plateau`` is ``ReduceLROnPlateau`` (the reference's settings by default: x0.2 after 5 epochs without
a relative improvement of 1 %) fed a value the run measures: the epoch's mean of one logged loss
(stepped at each epoch end), or the evaluation metric (stepped at each evaluation, ``train.eval_every``).
:class:`Schedules` holds the schedulers of all optimizers of a run and, for the plateau, the running
sum of the loss, so a run resumed mid-epoch sees the same epoch mean as one never stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

__all__ = ["SCHEDULES", "Plateau", "Schedules", "create_scheduler", "lr_factor"]

SCHEDULES: tuple[str, ...] = ("linear", "step", "cosine", "constant", "plateau")
EVAL = "eval"
"""``Plateau.metric`` value that follows the evaluation metric instead of a loss."""


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


@dataclass(frozen=True)
class Plateau:
    """What the ``plateau`` schedule watches and how it reacts (``ReduceLROnPlateau``'s arguments).

    Args:
        metric: A loss the method logs (``"g"``, ``"d"``, ``"g/l1"`` ...; its mean over each epoch) or
            ``"eval"`` (the evaluation metric, at each evaluation).
        mode: ``"min"`` when lower is better (losses, FID, KID, L1), ``"max"`` (PSNR, SSIM).
        factor: Multiplier of the learning rate on a plateau (reference: 0.2).
        patience: Epochs (or evaluations) without improvement before reducing (reference: 5).
        threshold: Relative improvement that counts (reference: 0.01).
        min_lr: The learning rate is never reduced below this.
    """

    metric: str = "g"
    mode: Literal["min", "max"] = "min"
    factor: float = 0.2
    patience: int = 5
    threshold: float = 0.01
    min_lr: float = 0.0

    @property
    def on_eval(self) -> bool:
        return self.metric == EVAL


class Schedules:
    """The learning-rate schedulers of a run's optimizers, stepped by the trainer.

    Call :meth:`observe` with each step's losses, :meth:`end_epoch` after each epoch and
    :meth:`evaluated` after each evaluation; :meth:`state_dict` holds everything a resume needs.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        >>> s = Schedules({"g": opt}, "plateau", epochs=1, epochs_decay=0, plateau=Plateau(patience=0))
        >>> for loss in (1.0, 1.0, 0.5, 0.5):  # one step per epoch
        ...     s.observe({"g": loss}); s.end_epoch()
        >>> round(opt.param_groups[0]["lr"], 4)  # reduced after epochs 2 and 4, not after 3
        0.04
    """

    def __init__(
        self,
        optimizers: Mapping[str, Optimizer],
        schedule: str,
        *,
        epochs: int,
        epochs_decay: int,
        step_size: int = 50,
        plateau: Plateau | None = None,
    ) -> None:
        self.plateau = (plateau or Plateau()) if schedule == "plateau" else None
        self.schedulers: dict[str, LambdaLR | ReduceLROnPlateau] = {}
        for name, opt in optimizers.items():
            if self.plateau is not None:
                p = self.plateau
                self.schedulers[name] = ReduceLROnPlateau(
                    opt,
                    mode=p.mode,
                    factor=p.factor,
                    patience=p.patience,
                    threshold=p.threshold,
                    min_lr=p.min_lr,
                )
            else:
                self.schedulers[name] = create_scheduler(
                    opt, schedule, epochs=epochs, epochs_decay=epochs_decay, step_size=step_size
                )
        self._loss_sum = 0.0  # the plateau loss summed over this epoch's steps
        self._loss_steps = 0

    def observe(self, losses: Mapping[str, float]) -> None:
        """Add one step's losses (the plateau on a loss averages its metric over the epoch)."""
        if self.plateau is None or self.plateau.on_eval:
            return
        name = self.plateau.metric
        if name not in losses:
            known = ", ".join(sorted(losses))
            raise ValueError(
                f"train.plateau_metric: {name!r} is not a logged loss (logged: {known}; or eval)"
            )
        self._loss_sum += float(losses[name])
        self._loss_steps += 1

    def end_epoch(self) -> None:
        """Step the epoch schedules, or the plateau on a loss with the epoch's mean."""
        if self.plateau is None:
            for scheduler in self.schedulers.values():
                scheduler.step()  # type: ignore[call-arg]
            return
        if self.plateau.on_eval or self._loss_steps == 0:
            return
        mean = self._loss_sum / self._loss_steps
        for scheduler in self.schedulers.values():
            scheduler.step(mean)  # type: ignore[arg-type]
        self._loss_sum, self._loss_steps = 0.0, 0

    def evaluated(self, value: float) -> None:
        """Step the plateau on the evaluation metric with its new ``value`` (other schedules ignore it)."""
        if self.plateau is not None and self.plateau.on_eval:
            for scheduler in self.schedulers.values():
                scheduler.step(value)  # type: ignore[arg-type]

    @property
    def on_eval(self) -> bool:
        """Whether the schedule needs the evaluation metric."""
        return self.plateau is not None and self.plateau.on_eval

    def state_dict(self) -> dict[str, Any]:
        """Each scheduler's state by optimizer name, and the plateau's epoch sum under ``"_epoch_loss"``."""
        state: dict[str, Any] = {name: s.state_dict() for name, s in self.schedulers.items()}
        if self.plateau is not None:
            state["_epoch_loss"] = {"sum": self._loss_sum, "steps": self._loss_steps}
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, scheduler in self.schedulers.items():
            if name not in state:
                raise ValueError(f"the checkpoint has no schedule state for optimizer {name!r}")
            scheduler.load_state_dict(state[name])
        epoch_loss = state.get("_epoch_loss", {"sum": 0.0, "steps": 0})
        self._loss_sum, self._loss_steps = float(epoch_loss["sum"]), int(epoch_loss["steps"])
