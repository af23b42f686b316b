"""Distillation: the teacher stays a frozen constant, features align through the 1x1 maps, the student
learns the teacher, a resume is exact, and the student is an ordinary model (card, export, CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from i2i.card import describe_generator
from i2i.cli import app
from i2i.config import load_recipe, recipe_to_yaml
from i2i.data import synthetic_domain_image, to_tensor
from i2i.distill import distill_overrides
from i2i.methods import Batch, Distill, create_method
from i2i.nn import create_generator
from i2i.train import train
from i2i.weights import load_generator, save_weights

# The teacher's own data: the built-in synthetic unpaired images at 32 px.
DATA = ["data.synthetic_size=32", "data.synthetic_count=8", "data.load_size=32", "data.crop_size=32"]
TINY = [
    "model.generator.base_channels=2",
    "model.discriminator.base_channels=4",
    "model.discriminator.num_layers=2",
    "train.batch_size=2",
    "train.epochs=1",
    "train.epochs_decay=1",
    "train.log_every=1",
    "train.sample_every=3",
    "train.checkpoint_every=2",
    "train.num_samples=2",
    "train.device=cpu",
    "data.num_workers=0",
]


def _teacher(tmp_path: Path, arch: str = "resnet_9blocks", *, fit: bool = False, **kwargs: Any) -> Path:
    """A teacher as a CycleGAN run's weights hold it: the a2b generator with its card and recipe
    (the demo CycleGAN's synthetic data); kaiming init spreads its outputs over [-1, 1]. With ``fit``
    it is first trained (100 steps, ~5 s) to swap red and blue, which turns the built-in warm circles
    into cool ones: a smooth function a student can learn, unlike a random network."""
    torch.manual_seed(0)
    settings = {"base_channels": 4, "init": "kaiming", **kwargs}
    generator = create_generator(arch, **settings)
    if fit:
        images = torch.stack([to_tensor(synthetic_domain_image("a", i, 32)) for i in range(8)])
        optimizer = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
        for _ in range(100):
            batch = images[torch.randint(0, 8, (4,))]
            loss = (generator(batch) - batch.flip(1)).abs().mean()  # (B, 3, H, W): RGB -> BGR
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    recipe = recipe_to_yaml(load_recipe("demo_cyclegan", DATA))
    card = describe_generator(
        generator,
        arch=arch,
        kwargs=settings,
        method="cyclegan",
        crop_size=32,
        recipe=recipe,
        key_prefix="g_ab.",
    )
    path = tmp_path / f"teacher_{arch}.safetensors"
    save_weights(path, {f"g_ab.{k}": v for k, v in generator.state_dict().items()}, [card])
    return path


def _recipe(teacher: Path, *overrides: str) -> Any:
    return load_recipe("distill", [*distill_overrides(teacher), *TINY, *overrides])


def _images(n: int = 2, size: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_the_overrides_take_the_teachers_data_or_a_folder(tmp_path: Path) -> None:
    teacher = _teacher(tmp_path)
    recipe = _recipe(teacher)
    assert (recipe.data.layout, recipe.data.synthetic_size, recipe.data.direction) == (
        "synthetic_unpaired",
        32,
        "a2b",
    )
    assert recipe.model.teacher == str(teacher.absolute())
    folder = load_recipe("distill", [*distill_overrides(teacher, data=tmp_path, student="resnet_6blocks")])
    assert (folder.data.layout, folder.data.root, folder.model.generator.name) == (
        "single",
        str(tmp_path.absolute()),
        "resnet_6blocks",
    )
    with pytest.raises(ValueError, match=r"teacher\.pth: a reference \.pth carries no recipe.*--data DIR"):
        distill_overrides(tmp_path / "teacher.pth", arch="resnet_9blocks")


def test_features_align_after_the_maps_and_only_the_student_side_learns(tmp_path: Path) -> None:
    method = create_method(_recipe(_teacher(tmp_path, base_channels=8)))
    assert isinstance(method, Distill) and method.discriminator_real == "target"  # the data has zebras
    assert set(method.networks()) == {"generator", "discriminator", "maps"}  # the teacher: never saved
    x = _images()
    teacher_b, teacher_features = method._teacher(x)
    fake_b, student_features = method._student(x)
    # student width 4 * 2 = 8 channels mapped to the teacher's 4 * 8 = 32, at 1/4 of 32 px
    assert [tuple(f.shape) for f in student_features] == [tuple(f.shape) for f in teacher_features]
    assert [tuple(f.shape) for f in teacher_features] == [(2, 32, 8, 8)] * 4
    assert teacher_b.shape == fake_b.shape == x.shape
    before = {k: v.clone() for k, v in method.teacher.state_dict().items()}
    method.train()
    assert not method.teacher.training  # train() leaves the teacher in eval mode
    out = method.training_step(Batch(a=x, b=_images(seed=2)))
    assert set(out.losses) == {"d", "g/gan", "g/recon", "g/feature", "g"}
    assert all(torch.equal(before[k], v) for k, v in method.teacher.state_dict().items())
    assert all(p.grad is None for p in method.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.maps.parameters())


def test_a_wrapped_student_gives_the_same_output_and_features(tmp_path: Path) -> None:
    method = create_method(_recipe(_teacher(tmp_path)))
    x = _images()
    plain = method._student(x)

    class Wrapper(torch.nn.Module):  # DistributedDataParallel keeps its network as .module
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module
            self.calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            return self.module(x)

    wrapper = Wrapper(method.generator)
    method.generator = wrapper
    wrapped = method._student(x)
    assert wrapper.calls == 1  # the output went through the wrapper (DDP's gradient hooks)
    assert torch.equal(plain[0], wrapped[0])
    assert all(torch.equal(a, b) for a, b in zip(plain[1], wrapped[1], strict=True))


def test_misaligned_features_and_missing_taps_are_one_line_errors(tmp_path: Path) -> None:
    # an anti-aliased teacher keeps down2 at 1/2 of the input; the student halves twice
    method = create_method(_recipe(_teacher(tmp_path, antialias=True)))
    with pytest.raises(
        ValueError,
        match=r"layer down2: the student's mapped feature is \(2, 16, 8, 8\), the teacher's \(2, 16, 16, 16\)",
    ):
        method.training_step(Batch(a=_images(), b=_images()))
    unet = _teacher(tmp_path, arch="unet_128", base_channels=2)
    with pytest.raises(
        ValueError, match=r"^model\.feature_layers: distill: generator 'unet_128' has no feature taps"
    ):
        create_method(_recipe(unet))
    assert isinstance(create_method(_recipe(unet, "model.lambda_feature=0")), Distill)  # L1 + GAN only
    with pytest.raises(ValueError, match=r"^model\.teacher: .*nothing\.safetensors: no such file"):
        create_method(load_recipe("distill", [f"model.teacher={tmp_path / 'nothing.safetensors'}"]))


def _l1_to_teacher(student: torch.nn.Module, teacher: torch.nn.Module) -> float:
    """Mean |student - teacher| on 8 held-out built-in horse-side images (the test split)."""
    x = torch.stack([to_tensor(synthetic_domain_image("a", i, 32, split="test")) for i in range(8)])
    with torch.no_grad():
        return float((student.eval()(x) - teacher.eval()(x)).abs().mean())


@pytest.mark.slow  # a 100-step teacher, 200 distillation steps at 32 px: ~25 s on 2 idle cores
def test_a_short_distillation_drives_the_student_to_the_teacher(tmp_path: Path) -> None:
    teacher_path = _teacher(tmp_path, fit=True)
    settings = ["train.epochs=50", "train.epochs_decay=0", "train.lr=2e-3", "train.checkpoint_every=200"]
    recipe = _recipe(teacher_path, *settings, "train.max_steps=200")
    teacher, _ = load_generator(teacher_path)
    start = _l1_to_teacher(create_method(recipe).generator, teacher)  # the same seed as the run's start
    result = train(recipe, tmp_path / "run", progress=False)
    student, card = load_generator(tmp_path / "run")
    end = _l1_to_teacher(student, teacher)
    assert result.step == 200 and start > 0.4 and end < 0.4 * start, (start, end)
    # an ordinary model: its card records teacher and student, and ONNX Runtime reproduces it
    assert (card.method, card.arch, card.kwargs["base_channels"]) == ("distill", "mobile_resnet_9blocks", 2)
    assert card.teacher["arch"] == "resnet_9blocks" and card.teacher["kwargs"]["base_channels"] == 4
    assert card.teacher["source"] == str(teacher_path.absolute())
    from i2i.export import export_onnx

    exported = export_onnx(student, card, tmp_path / "student.onnx")  # verifies parity, raises beyond 1e-4
    assert exported.teacher == card.teacher


@pytest.mark.slow  # three short trainings
def test_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    teacher = _teacher(tmp_path)
    whole = train(_recipe(teacher, "train.max_steps=7"), tmp_path / "whole", progress=False)
    first = train(_recipe(teacher, "train.max_steps=3"), tmp_path / "split", progress=False)
    second = train(_recipe(teacher, "train.max_steps=7"), tmp_path / "split", progress=False)
    assert (first.step, second.step, whole.step) == (3, 7, 7) and second.resumed_from == first.checkpoint
    from safetensors.torch import load_file

    expected = load_file(str(whole.checkpoint / "weights.safetensors"))
    actual = load_file(str(second.checkpoint / "weights.safetensors"))
    assert expected.keys() == actual.keys() and not any(k.startswith("teacher.") for k in expected)
    assert [k for k in expected if not torch.equal(expected[k], actual[k])] == []
    assert second.losses == whole.losses


def test_cli_distils_on_a_folder_and_names_a_bad_teacher(tmp_path: Path) -> None:
    from i2i.data.io import write_image

    folder = tmp_path / "horses"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"{i}.png", synthetic_domain_image("a", i, 32))
    teacher = _teacher(tmp_path)
    args = ["distill", str(teacher), "--out", str(tmp_path / "run"), "--data", str(folder), "--no-progress"]
    sets = [*TINY, "data.load_size=32", "data.crop_size=32", "train.max_steps=2"]
    result = CliRunner().invoke(app, [*args, *(x for item in sets for x in ("--set", item))])
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output
    _, card = load_generator(tmp_path / "run")
    assert card.method == "distill" and card.teacher["arch"] == "resnet_9blocks"
    bad = CliRunner().invoke(app, ["distill", str(tmp_path / "missing"), "--out", str(tmp_path / "r2")])
    assert bad.exit_code == 1 and "missing" in bad.output and "Traceback" not in bad.output
