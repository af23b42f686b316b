"""Each training fast path runs and trains on the CPU; "auto" resolves per device."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from i2i.config import Recipe
from i2i.data.gpu_transforms import BatchAugment
from i2i.methods import Batch, Pix2Pix, create_method
from i2i.train import train
from i2i.train.accelerate import (
    FastPaths,
    apply_fast_paths,
    batch_augment,
    cudnn_benchmark,
    is_compiled,
    prepare_batch,
    resolve_fast_paths,
    set_adam_impl,
)

TinyRecipe = Callable[..., Recipe]


def _initial_weights(recipe: Recipe) -> dict[str, torch.Tensor]:
    """The weights the trainer starts from (it seeds python, numpy and torch, then builds the method)."""
    random.seed(recipe.train.seed)
    np.random.seed(recipe.train.seed)
    torch.manual_seed(recipe.train.seed)
    method = create_method(recipe)
    return {f"{n}.{k}": v for n, net in method.networks().items() for k, v in net.state_dict().items()}


def _trains(recipe: Recipe, out: Path) -> dict[str, float]:
    result = train(recipe, out, progress=False)
    assert result.step == recipe.train.max_steps
    assert result.losses and all(math.isfinite(v) for v in result.losses.values()), result.losses
    assert result.checkpoint is not None
    trained = load_file(str(result.checkpoint / "weights.safetensors"))
    start = _initial_weights(recipe)
    assert trained.keys() == start.keys()  # no "module." or "_orig_mod." prefixes
    changed = [k for k in start if start[k].is_floating_point() and not torch.equal(start[k], trained[k])]
    assert len(changed) > len(start) // 2, "the weights did not train"
    return result.losses


@pytest.mark.parametrize(
    "overrides",
    [
        ["train.channels_last=true"],
        ["train.adam=fused"],
        ["train.adam=foreach"],
        ["train.precision=bf16"],  # autocast to bfloat16 on the CPU: finite losses
        ["data.augment_on=device", "data.load_size=40", "data.color_jitter=0.2"],
        ["train.persistent_workers=true", "data.num_workers=1", "train.max_steps=6"],  # crosses an epoch
    ],
    ids=["channels_last", "fused_adam", "foreach_adam", "bf16", "device_augment", "persistent_workers"],
)
def test_fast_path_trains(tiny_recipe: TinyRecipe, tmp_path: Path, overrides: list[str]) -> None:
    _trains(tiny_recipe("demo_pix2pix", "train.max_steps=2", *overrides), tmp_path)


@pytest.mark.slow
def test_compiled_networks_train(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    # aot_eager traces and compiles the graphs (dynamo + AOTAutograd, recompiles for frozen D) but
    # skips inductor's C++ code generation, which takes minutes on 2 cores.
    recipe = tiny_recipe(
        "demo_cyclegan", "train.max_steps=2", "train.compile=true", "train.compile_backend=aot_eager"
    )
    _trains(recipe, tmp_path)


def test_cyclegan_fast_paths_together(tiny_recipe: TinyRecipe, tmp_path: Path) -> None:
    recipe = tiny_recipe(
        "demo_cyclegan",
        "train.max_steps=2",
        "train.channels_last=true",
        "train.adam=fused",
        "train.precision=bf16",
        "data.augment_on=device",
        "data.load_size=36",
    )
    _trains(recipe, tmp_path)


def test_auto_resolves_per_device(tiny_recipe: TinyRecipe) -> None:
    t = tiny_recipe("demo_pix2pix").train
    cpu = resolve_fast_paths(t, torch.device("cpu"), num_workers=0)
    assert cpu == FastPaths(adam="fused")  # everything else off on the CPU
    assert resolve_fast_paths(t, torch.device("cpu"), num_workers=2).persistent_workers
    cuda = resolve_fast_paths(t, torch.device("cuda"), num_workers=4, world_size=2)
    assert cuda == FastPaths(
        channels_last=True,
        compile=True,
        adam="fused",
        cudnn_benchmark=True,
        pin_memory=True,
        persistent_workers=True,
        sync_batchnorm=True,
    )
    assert resolve_fast_paths(t, torch.device("mps")).adam == "foreach"
    explicit = tiny_recipe("demo_pix2pix", "train.compile=true", "train.channels_last=false").train
    assert resolve_fast_paths(explicit, torch.device("cuda")).compile
    assert not resolve_fast_paths(explicit, torch.device("cuda")).channels_last
    synced = tiny_recipe("demo_pix2pix", "train.sync_batchnorm=true").train
    assert resolve_fast_paths(synced, torch.device("cuda"), world_size=2).sync_batchnorm
    assert not resolve_fast_paths(synced, torch.device("cpu"), world_size=2).sync_batchnorm  # CUDA only


def test_adam_kernels_give_the_same_update() -> None:
    updates = {}
    for impl in ("for_loop", "foreach", "fused"):
        torch.manual_seed(0)
        method = Pix2Pix(generator="resnet_6blocks", generator_kwargs={"base_channels": 4})
        set_adam_impl(method, impl)  # type: ignore[arg-type]
        opt = method.optimizers["g"]
        assert opt.defaults["fused"] == (impl == "fused") and opt.defaults["foreach"] == (impl == "foreach")
        assert opt.param_groups[0]["lr"] == 2e-4 and opt.param_groups[0]["betas"] == (0.5, 0.999)
        for p in method.generator.parameters():
            p.grad = torch.ones_like(p)
        opt.step()
        updates[impl] = torch.cat([p.detach().flatten() for p in method.generator.parameters()])
    # the same elementwise formula in another kernel: float32 rounding apart
    torch.testing.assert_close(updates["fused"], updates["for_loop"], rtol=0, atol=1e-7)
    torch.testing.assert_close(updates["foreach"], updates["for_loop"], rtol=0, atol=1e-7)


def test_adam_kernel_is_set_before_training_only() -> None:
    method = Pix2Pix(generator="resnet_6blocks", generator_kwargs={"base_channels": 4})
    method.optimizers["g"].state[next(method.generator.parameters())] = {"step": torch.tensor(1.0)}
    with pytest.raises(RuntimeError, match="has taken steps"):
        set_adam_impl(method, "fused")


def test_compile_skips_a_discriminator_under_the_gradient_penalty() -> None:
    method = Pix2Pix(generator="resnet_6blocks", generator_kwargs={"base_channels": 4}, gan_mode="wgangp")
    apply_fast_paths(method, FastPaths(compile=True, compile_backend="eager"))
    assert is_compiled(method.generator) and not is_compiled(method.discriminator)


def test_fp16_steps_go_through_the_grad_scaler() -> None:
    # The trainer uses fp16 on CUDA only; the scaler path of Method.step is the same on the CPU.
    torch.manual_seed(0)
    method = Pix2Pix(
        generator="resnet_6blocks",
        generator_kwargs={"base_channels": 4},
        discriminator_kwargs={"base_channels": 4, "num_layers": 2},
    )
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    method.scaler = scaler
    before = [p.detach().clone() for p in method.generator.parameters()]
    batch = Batch(a=torch.rand(2, 3, 16, 16) * 2 - 1, b=torch.rand(2, 3, 16, 16) * 2 - 1)
    with torch.autocast("cpu", dtype=torch.float16):
        losses = method.training_step(batch).losses
    scaler.update()
    assert all(torch.isfinite(v) for v in losses.values())
    assert scaler.get_scale() == 2.0**8  # no inf/NaN gradient at this scale: the scale is kept
    assert any(not torch.equal(a, b) for a, b in zip(before, method.generator.parameters(), strict=True))


def test_cudnn_benchmark_is_restored_after_the_run() -> None:
    previous = torch.backends.cudnn.benchmark
    with cudnn_benchmark(not previous):
        assert torch.backends.cudnn.benchmark is (not previous)
    assert torch.backends.cudnn.benchmark is previous


def test_prepare_batch_keeps_labels_and_equal_sides(tiny_recipe: TinyRecipe) -> None:
    # a labelled batch (cgan, stargan) holds one image as both a and b: the same draws keep them equal
    images = torch.rand(2, 3, 8, 8) * 2 - 1
    batch = Batch(a=images, b=images, labels=torch.tensor([1, 2]))
    augment = batch_augment(tiny_recipe("demo_pix2pix", "data.augment_on=device", "data.load_size=40"))
    assert augment is not None and augment.paired
    out = prepare_batch(batch, augment=BatchAugment(crop_size=4, flip=True), seed=3, channels_last=True)
    assert out.labels is not None and torch.equal(out.labels, torch.tensor([1, 2]))
    assert out.a.shape == (2, 3, 4, 4) and torch.equal(out.a, out.b)
    assert out.a.is_contiguous(memory_format=torch.channels_last)
    unpaired = batch_augment(tiny_recipe("demo_cyclegan", "data.augment_on=device", "data.load_size=40"))
    assert unpaired is not None and not unpaired.paired
