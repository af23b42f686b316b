from __future__ import annotations

import io
import math

import pytest
import torch

from i2i.train import Plateau, Schedules, create_scheduler, lr_factor


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


def _plateau(**settings: float | str) -> tuple[torch.optim.Optimizer, Schedules]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    plateau = Plateau(**settings)  # type: ignore[arg-type]
    return optimizer, Schedules({"g": optimizer}, "plateau", epochs=1, epochs_decay=0, plateau=plateau)


def test_plateau_reduces_after_patience_epochs_without_improvement() -> None:
    # epoch means 4, 3, 2.99 (under 1 % better: bad), 3.5 (bad) -> x0.5 after the second bad epoch
    optimizer, schedules = _plateau(metric="g", factor=0.5, patience=1, threshold=0.01)
    lrs = []
    for losses in ([5.0, 3.0], [3.0, 3.0], [2.99, 2.99], [3.5, 3.5], [1.0, 1.0]):
        for value in losses:
            schedules.observe({"g": value, "d": 100.0})
        schedules.end_epoch()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5]


def test_plateau_on_eval_follows_the_metric_direction() -> None:
    optimizer, schedules = _plateau(metric="eval", mode="max", factor=0.1, patience=0)
    schedules.observe({"g": 1.0})
    schedules.end_epoch()  # epochs do not step it
    for psnr in (20.0, 25.0, 24.0):  # higher is better: 24 after 25 is a plateau
        schedules.evaluated(psnr)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)


def test_plateau_state_resumes_mid_epoch_exactly() -> None:
    steps = [4.0, 2.0, 3.0, 3.0, 2.9, 2.5, 3.1, 2.8]  # 2 steps per epoch
    whole_opt, whole = _plateau(metric="g", factor=0.5, patience=0, threshold=0.0)
    first_opt, first = _plateau(metric="g", factor=0.5, patience=0, threshold=0.0)
    for i, value in enumerate(steps):
        whole.observe({"g": value})
        if i % 2:
            whole.end_epoch()
    for i, value in enumerate(steps[:5]):  # stop after the first step of epoch 3
        first.observe({"g": value})
        if i % 2:
            first.end_epoch()
    state = first.state_dict()
    assert state["_epoch_loss"] == {"sum": 2.9, "steps": 1}
    resumed_opt, resumed = _plateau(metric="g", factor=0.5, patience=0, threshold=0.0)
    resumed_opt.load_state_dict(first_opt.state_dict())
    resumed.load_state_dict(torch.load(_roundtrip(state), weights_only=True))
    for i, value in enumerate(steps[5:], start=5):
        resumed.observe({"g": value})
        if i % 2:
            resumed.end_epoch()
    # means 3, 3, 2.7, 2.95: 2.7 improves, 3 and 2.95 do not -> two halvings
    assert resumed_opt.param_groups[0]["lr"] == whole_opt.param_groups[0]["lr"] == 0.25
    assert resumed.state_dict() == whole.state_dict()


def _roundtrip(state: dict[str, object]) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return buffer


def test_plateau_on_an_unknown_loss_names_the_key() -> None:
    _, schedules = _plateau(metric="g/l2")
    with pytest.raises(ValueError, match=r"train.plateau_metric: 'g/l2' is not a logged loss \(logged: d, g"):
        schedules.observe({"g": 1.0, "d": 1.0})
