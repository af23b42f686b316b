from __future__ import annotations

import json
import logging
import math
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from i2i.config import Recipe
from i2i.data import write_synthetic_folder
from i2i.methods import Batch, Pix2Pix, StepOutput
from i2i.run_dir import RunDir
from i2i.train import NonFiniteLossError, RunDirError, train
from i2i.weights import load_generator, read_model_cards

TinyRecipe = Callable[..., Recipe]


def _weights(checkpoint: Path | None) -> dict[str, torch.Tensor]:
    assert checkpoint is not None
    return load_file(str(checkpoint / "weights.safetensors"))


@pytest.mark.slow  # three trainings; ~1 s on 2 idle cores, over 5 s when they are shared
@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("demo_pix2pix", ["model.generator.dropout=0.5"]),  # dropout draws from the global torch RNG
        ("demo_cyclegan", ["model.pool_size=3"]),  # a pool that fills and then swaps
        # sampled patch locations and FastCUT's flips draw from the global torch RNG; the heads and
        # their Adam state are a network and an optimizer group like any other
        ("demo_cut", ["model.flip_equivariance=true", "model.num_patches=16"]),
    ],
)
def test_resume_equals_an_uninterrupted_run(
    tiny_recipe: TinyRecipe, tmp_path: Path, name: str, extra: list[str]
) -> None:
    # 4 steps per epoch: stopping at step 3 leaves the run mid-epoch, and 7 steps cross an epoch end
    # (scheduler step, next permutation), so the resume restores the position inside an epoch.
    whole = train(tiny_recipe(name, *extra, "train.max_steps=7"), tmp_path / "whole", progress=False)
    first = train(tiny_recipe(name, *extra, "train.max_steps=3"), tmp_path / "split", progress=False)
    second = train(tiny_recipe(name, *extra, "train.max_steps=7"), tmp_path / "split", progress=False)
    assert (first.step, second.step, whole.step) == (3, 7, 7)
    assert second.resumed_from == first.checkpoint
    expected, actual = _weights(whole.checkpoint), _weights(second.checkpoint)
    assert expected.keys() == actual.keys()
    # Bit-identical on the CPU: the same ops on the same inputs in the same order.
    different = [key for key in expected if not torch.equal(expected[key], actual[key])]
    assert different == []
    assert second.losses == whole.losses


@pytest.mark.slow  # three short trainings
def test_plateau_schedule_reduces_the_lr_and_resumes_exactly(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    # 4 steps per epoch; threshold 0.99 makes every epoch after the first a plateau, patience 0 reacts
    # at once: lr 2e-4 for epochs 1-2, x0.5 after epoch 2. The split run stops mid-epoch 2 (step 6), so
    # the epoch mean it resumes must include the steps before the stop.
    plateau = [
        "train.schedule=plateau",
        "train.plateau_metric=d",
        "train.plateau_patience=0",
        "train.plateau_factor=0.5",
        "train.plateau_threshold=0.99",
        "train.epochs=3",
        "train.epochs_decay=0",
    ]
    whole = train(tiny_recipe("demo_pix2pix", *plateau, "train.max_steps=10"), tmp_path / "w", progress=False)
    train(tiny_recipe("demo_pix2pix", *plateau, "train.max_steps=6"), tmp_path / "s", progress=False)
    second = train(
        tiny_recipe("demo_pix2pix", *plateau, "train.max_steps=10"), tmp_path / "s", progress=False
    )
    lines = [json.loads(line) for line in (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()]
    # the lr logged with step 8 is the one after epoch 2 ended
    assert [line["lr/g"] for line in lines] == pytest.approx([2e-4] * 7 + [1e-4] * 3)
    assert [line["lr/d"] for line in lines][-1] == pytest.approx(1e-4)
    states = [torch.load(r.checkpoint / "state.pt", weights_only=True) for r in (whole, second)]  # type: ignore[operator]
    assert states[0]["schedulers"] == states[1]["schedulers"]
    assert states[0]["schedulers"]["_epoch_loss"]["steps"] == 2  # steps 9 and 10 of epoch 3
    expected, actual = _weights(whole.checkpoint), _weights(second.checkpoint)
    assert all(torch.equal(expected[key], actual[key]) for key in expected)


def test_run_directory_layout_and_checkpoint_contents(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    result = train(tiny_recipe("demo_cyclegan", "train.max_steps=5"), tmp_path, progress=False)
    assert (tmp_path / "recipe.yaml").read_text().startswith("method: cyclegan")
    assert (tmp_path / "checkpoints" / "last").read_text().strip() == "step_00000005"
    # checkpoints at 2, 4 (every 2), 4 (epoch end) and 5 (the end); keep_checkpoints=3 keeps them all
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == [
        "step_00000002",
        "step_00000004",
        "step_00000005",
    ]
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.png")) == [
        "step_00000003.png",
        "step_00000005.png",
    ]
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4, 5]
    assert lines[3]["epoch"] == 1 and lines[4]["lr/g"] == pytest.approx(2e-4 * 0.5)  # decay epoch of 1
    assert any((tmp_path / "tensorboard").iterdir())

    state = torch.load(result.checkpoint / "state.pt", weights_only=True)  # type: ignore[operator]
    assert (state["step"], state["epoch"], state["position"]) == (5, 1, 1)
    assert set(state["rng"]) == {"python", "numpy", "torch", "cuda"}
    assert set(state["method"]) == {"fake_a_pool", "fake_b_pool", "steps_done"}
    specs = read_model_cards(result.checkpoint / "weights.safetensors")  # type: ignore[operator]
    assert [(s.key_prefix, s.direction, s.method, s.crop_size) for s in specs] == [
        ("g_ab.", "a2b", "cyclegan", 32),
        ("g_ba.", "b2a", "cyclegan", 32),
    ]
    generator, spec = load_generator(tmp_path, direction="b2a")
    assert spec.arch == "resnet_6blocks" and "method: cyclegan" in spec.recipe
    assert generator(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_keep_checkpoints_prunes_old_ones(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    recipe = tiny_recipe(
        "demo_pix2pix", "train.max_steps=6", "train.checkpoint_every=1", "train.keep_checkpoints=2"
    )
    train(recipe, tmp_path, progress=False)
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == [
        "step_00000005",
        "step_00000006",
    ]


def test_keep_every_epochs_keeps_milestones_besides_the_newest(
    tiny_recipe: TinyRecipe, tmp_path: Path
) -> None:
    # 3 epochs of 4 steps, a checkpoint every step: the newest 2 (11, 12) and the end of epoch 2 (8);
    # the end of epoch 1 (4) is not a milestone, and epoch 3's end (12) is kept as one of the newest
    overrides = ["train.epochs=3", "train.epochs_decay=0", "train.checkpoint_every=1"]
    recipe = tiny_recipe("demo_pix2pix", *overrides, "train.keep_checkpoints=2", "train.keep_every_epochs=2")
    train(recipe, tmp_path, progress=False)
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == [
        "step_00000008",
        "step_00000011",
        "step_00000012",
    ]


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    tiny_recipe: TinyRecipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Pix2Pix.training_step
    calls = []

    def poisoned(self: Pix2Pix, batch: Batch) -> StepOutput:
        output = original(self, batch)
        calls.append(1)
        if len(calls) == 3:
            output.losses["g/l1"] = torch.tensor(float("nan"))
        return output

    monkeypatch.setattr(Pix2Pix, "training_step", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"loss 'g/l1' is nan at step 3 .*step_00000002"):
        train(tiny_recipe("demo_pix2pix"), tmp_path, progress=False)
    assert (tmp_path / "checkpoints" / "last").read_text().strip() == "step_00000002"
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*")) == ["step_00000002"]


def test_ctrl_c_finishes_the_step_saves_and_resumes(
    tiny_recipe: TinyRecipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Pix2Pix.training_step
    calls = []

    def interrupted(self: Pix2Pix, batch: Batch) -> StepOutput:
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)  # arrives mid-step, as a real Ctrl-C would
        return original(self, batch)

    monkeypatch.setattr(Pix2Pix, "training_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_recipe("demo_pix2pix", "train.checkpoint_every=100"), tmp_path, progress=False)
    assert (tmp_path / "checkpoints" / "last").read_text().strip() == "step_00000003"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    result = train(
        tiny_recipe("demo_pix2pix", "train.checkpoint_every=100", "train.max_steps=4"),
        tmp_path,
        progress=False,
    )
    assert result.step == 4 and result.resumed_from == tmp_path / "checkpoints" / "step_00000003"


def test_a_different_recipe_is_refused_unless_forced(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    train(tiny_recipe("demo_pix2pix", "train.max_steps=1"), tmp_path, progress=False)
    with pytest.raises(RunDirError, match=r"differs in train\.lr.*--force"):
        train(tiny_recipe("demo_pix2pix", "train.max_steps=2", "train.lr=1e-3"), tmp_path, progress=False)
    with pytest.raises(RunDirError, match="--no-resume"):
        train(tiny_recipe("demo_pix2pix", "train.max_steps=2"), tmp_path, resume=False, progress=False)
    # run-control fields may change (max_steps here); --force resumes with the new recipe
    forced = train(
        tiny_recipe("demo_pix2pix", "train.max_steps=2", "train.lr=1e-3"),
        tmp_path,
        force=True,
        progress=False,
    )
    assert forced.step == 2 and "lr: 0.001" in (tmp_path / "recipe.yaml").read_text()
    fresh = train(
        tiny_recipe("demo_pix2pix", "train.max_steps=1"), tmp_path, resume=False, force=True, progress=False
    )
    assert fresh.resumed_from is None and fresh.step == 1


def test_a_corrupt_image_is_skipped_and_reported(
    tiny_recipe: TinyRecipe, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_synthetic_folder(tmp_path / "data", "paired", count=4, size=32, splits=("train",))
    (root / "train" / "0002.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    recipe = tiny_recipe(
        "demo_pix2pix", "data.layout=aligned", f"data.root={root}", "data.num_workers=0", "train.max_steps=2"
    )
    with caplog.at_level(logging.WARNING, logger="i2i.data"):
        result = train(recipe, tmp_path / "run", progress=False)
    assert result.step == 2 and all(math.isfinite(v) for v in result.losses.values())
    assert any("0002.png" in record.getMessage() for record in caplog.records)


def test_sigterm_finishes_the_step_and_saves_like_ctrl_c(
    tiny_recipe: TinyRecipe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM (SLURM, Kubernetes, docker stop) used to kill training at once, losing every step since
    the last checkpoint."""
    original = Pix2Pix.training_step
    calls = []

    def terminated(self: Pix2Pix, batch: Batch) -> StepOutput:
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGTERM)  # arrives mid-step
        return original(self, batch)

    monkeypatch.setattr(Pix2Pix, "training_step", terminated)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_recipe("demo_pix2pix", "train.checkpoint_every=100"), tmp_path, progress=False)
    assert (tmp_path / "checkpoints" / "last").read_text().strip() == "step_00000002"
    assert signal.getsignal(signal.SIGTERM) is before  # handler restored


def test_a_second_run_on_the_same_directory_is_refused(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    """Two `i2i train` on one --out used to both run, interleaving metrics and TensorBoard files."""
    with RunDir(tmp_path).locked(), pytest.raises(RunDirError, match=r"another i2i train \(PID \d+\)"):
        train(tiny_recipe("demo_pix2pix", "train.max_steps=1"), tmp_path, progress=False)
    (tmp_path / ".recipe.yaml.killed.tmp").write_text("half")  # what a killed run leaves
    assert train(tiny_recipe("demo_pix2pix", "train.max_steps=1"), tmp_path, progress=False).step == 1
    assert not (tmp_path / ".recipe.yaml.killed.tmp").exists()


def test_a_damaged_newest_checkpoint_falls_back_to_an_older_one(
    tiny_recipe: TinyRecipe, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged newest checkpoint used to make resume crash although an older one was intact."""
    steps = ["train.checkpoint_every=1", "train.keep_checkpoints=3"]
    train(tiny_recipe("demo_pix2pix", *steps, "train.max_steps=2"), tmp_path, progress=False)
    newest = tmp_path / "checkpoints" / "step_00000002" / "weights.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated, as a full disk leaves it
    with caplog.at_level(logging.WARNING, logger="i2i.train"):
        result = train(tiny_recipe("demo_pix2pix", *steps, "train.max_steps=3"), tmp_path, progress=False)
    assert result.resumed_from == tmp_path / "checkpoints" / "step_00000001" and result.step == 3
    assert any("resuming from the older checkpoint" in r.getMessage() for r in caplog.records)
