from __future__ import annotations

import math

import pytest
import torch

from i2i.train import create_scheduler, lr_factor


def reference_lambda_rule(epoch: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1) -> float:
    """pytorch-CycleGAN-and-pix2pix models/networks.py get_scheduler, lr_policy 'linear'."""
    return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)


@pytest.mark.parametrize("epoch", [0, 1, 98, 99, 100, 101, 150, 198, 199])
def test_linear_equals_the_reference_lambda_rule(epoch: int) -> None:
    assert lr_factor("linear", epochs=100, epochs_decay=100)(epoch) == reference_lambda_rule(epoch, 100, 100)


def test_linear_hand_computed_values() -> None:
    f = lr_factor("linear", epochs=100, epochs_decay=100)
    assert f(99) == 1.0  # last constant epoch
    assert f(100) == 1.0 - 1 / 101  # first decay epoch
    assert f(150) == 1.0 - 51 / 101
    assert f(199) == pytest.approx(1 / 101)  # last epoch: lr / (epochs_decay + 1)


def test_scheduler_steps_once_per_epoch() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=2e-4)
    scheduler = create_scheduler(optimizer, "linear", epochs=2, epochs_decay=3)
    lrs = []
    for _ in range(5):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([2e-4, 2e-4, 1.5e-4, 1e-4, 0.5e-4])


def test_step_schedule_divides_by_ten_every_step_size_epochs() -> None:
    f = lr_factor("step", epochs=100, epochs_decay=100, step_size=50)
    assert [f(e) for e in (0, 49, 50, 99, 100)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])


def test_cosine_and_constant() -> None:
    f = lr_factor("cosine", epochs=10, epochs_decay=10)
    assert (f(0), f(10), f(20)) == pytest.approx((1.0, 0.5, 0.0))
    assert f(5) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor("constant", epochs=1, epochs_decay=1)(1000) == 1.0


def test_unknown_schedule() -> None:
    with pytest.raises(ValueError, match="unknown schedule 'linaer'"):
        lr_factor("linaer", epochs=1, epochs_decay=1)
