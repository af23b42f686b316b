"""CUT / FastCUT: the PatchNCE plumbing (locations, flips, gradients), recipes, and that the demo learns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from i2i.config import RecipeError, load_recipe, validate_recipe
from i2i.data import synthetic_domain_image, to_tensor
from i2i.methods import CUT, Batch, Method, create_method
from i2i.train import train
from i2i.weights import load_generator

SMALL: dict[str, Any] = {"base_channels": 4, "norm": "instance"}


def _cut(**changes: Any) -> CUT:
    torch.manual_seed(0)
    settings: dict[str, Any] = {
        "generator": "resnet_6blocks",
        "generator_kwargs": SMALL,
        "discriminator_kwargs": {**SMALL, "num_layers": 2},
        "num_patches": 16,
    }
    return CUT(**(settings | changes))


def _images(n: int = 2, size: int = 16, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_heads_exist_before_training_one_per_layer_in_gs_optimizer() -> None:
    method = _cut()
    # built from the tapped widths up front: input 3, down1 8, down2 16, block1 16, block5 16
    assert [head[0].in_features for head in method.heads.heads] == [3, 8, 16, 16, 16]
    assert [head[2].out_features for head in method.heads.heads] == [256] * 5
    g_params = {id(p) for group in method.optimizers["g"].param_groups for p in group["params"]}
    assert {id(p) for p in method.heads.parameters()} <= g_params
    assert set(method.networks()) == {"generator", "discriminator", "heads"}
    assert set(method.generators()) == {"generator"}  # only G is exported


def test_the_same_locations_are_sampled_in_both_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    method = _cut()
    calls: list[tuple[Any, list[torch.Tensor]]] = []
    forward = method.heads.forward

    def spy(features: Any, num_patches: int = 256, locations: Any = None) -> Any:
        patches, used = forward(features, num_patches, locations)
        calls.append((locations, used))
        return patches, used

    monkeypatch.setattr(method.heads, "forward", spy)
    x = _images()
    method.nce_loss(x, method.generator(x))
    (first_given, keys_at), (queries_given, queries_at) = calls
    assert first_given is None  # the key pass draws the locations ...
    assert queries_given is keys_at  # ... the query pass is handed them
    assert all(torch.equal(a, b) for a, b in zip(keys_at, queries_at, strict=True))
    # 16 distinct locations per layer, within each layer's map (16x16 input, 8x8 down1, 4x4 down2)
    assert [len(set(ids.tolist())) for ids in keys_at] == [16] * 5
    assert [int(ids.max()) < n for ids, n in zip(keys_at, [256, 64, 16, 16, 16], strict=True)]
    # sampled at the same places, a translation that changes nothing is the easiest to match: each
    # query's positive is then its own key, so the loss is lower than against another image
    same = method.nce_loss(x, x)
    other = method.nce_loss(x, _images(seed=2))
    assert same < other


def test_generator_step_gradients_reach_g_and_the_heads_not_d(monkeypatch: pytest.MonkeyPatch) -> None:
    method = _cut()
    seen: dict[str, list[bool]] = {}
    step = Method.step

    def spy(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        if optimizer is method.optimizers["g"]:  # the generator's step: clear, backward, look
            for p in method.parameters():
                p.grad = None
            loss.backward()
            seen.update(
                {
                    name: [p.grad is not None for p in net.parameters()]
                    for name, net in method.networks().items()
                }
            )
            return
        step(method, optimizer, loss)

    monkeypatch.setattr(method, "step", spy)
    x, y = _images(), _images(seed=3)
    losses = method.training_step(Batch(x, y)).losses
    assert set(losses) == {"d", "g", "g/gan", "g/nce", "g/nce_idt"}
    assert all(seen["generator"]) and all(seen["heads"])
    assert not any(seen["discriminator"])
    assert sum(p.grad.abs().sum() for p in method.heads.parameters()) > 0  # type: ignore[union-attr]


def _symmetric_stem(method: CUT) -> None:
    """Make the stem's 7x7 kernels left-right symmetric: with reflection padding and instance norm
    the stem then commutes with a horizontal flip exactly."""
    conv = method.generator.stem[1]
    with torch.no_grad():
        conv.weight.copy_((conv.weight + conv.weight.flip(-1)) / 2)


def test_flip_equivariance_compares_flipped_back_features() -> None:
    method = _cut(nce_layers=("input", "stem"), flip_equivariance=True)
    _symmetric_stem(method)
    x, t = _images(), _images(seed=4)

    def loss(target: torch.Tensor, flipped: bool) -> float:
        torch.manual_seed(5)  # the same sampled locations in each call
        return method.nce_loss(x, target, flipped=flipped).item()

    # G(flip(x)) = flip(G(x)) for an equivariant G: the flipped step's output, flipped back at the
    # feature level, must score exactly like the unflipped output
    assert loss(t.flip(-1), flipped=True) == pytest.approx(loss(t, flipped=False), rel=1e-5)
    assert loss(t, flipped=True) != pytest.approx(loss(t, flipped=False), rel=1e-3)  # the flip matters
    symmetric = (x + x.flip(-1)) / 2  # on a mirror-symmetric image flipping back changes nothing
    assert loss(symmetric, flipped=True) == pytest.approx(loss(symmetric, flipped=False), rel=1e-5)


def test_a_flipped_step_translates_the_mirrored_input(monkeypatch: pytest.MonkeyPatch) -> None:
    method = _cut(flip_equivariance=True, nce_idt=False)
    inputs: list[torch.Tensor] = []
    method.generator.register_forward_pre_hook(lambda _, args: inputs.append(args[0]))
    x, y = _images(), _images(seed=3)
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.tensor(0.1))  # < 0.5: flip
    images = method.training_step(Batch(x, y)).images
    assert torch.equal(inputs[0], x.flip(-1))
    assert images["fake_b"].shape == x.shape  # shown flipped back, beside real_a
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.tensor(0.9))
    method.training_step(Batch(x, y))
    assert torch.equal(inputs[-1], x)


def test_recipe_errors_are_one_line_and_name_the_key() -> None:
    raw = {"method": "cut", "name": "x", "data": {"layout": "synthetic_unpaired"}}
    with pytest.raises(
        RecipeError, match=r"model\.generator\.name: cut: generator 'unet_256' has no feature taps"
    ):
        validate_recipe(raw | {"model": {"generator": {"name": "unet_256", "norm": "batch"}}})
    with pytest.raises(
        RecipeError, match=r"model\.nce_layers: generator 'resnet_6blocks' has no layer 'block7'"
    ):
        validate_recipe(raw | {"model": {"generator": {"name": "resnet_6blocks"}, "nce_layers": ["block7"]}})
    with pytest.raises(RecipeError, match=r"model\.nce_idt: .*in_channels == data\.out_channels"):
        validate_recipe(raw | {"data": {"layout": "synthetic_unpaired", "out_channels": 1}})
    fast = load_recipe("horse2zebra_fastcut")
    assert (fast.model.lambda_nce, fast.model.nce_idt, fast.model.flip_equivariance) == (10.0, False, True)
    assert (fast.train.epochs, fast.train.epochs_decay) == (150, 50)
    cut = load_recipe("horse2zebra_cut")
    assert (cut.model.lambda_nce, cut.model.nce_idt, cut.model.flip_equivariance) == (1.0, True, False)
    assert (cut.train.epochs, cut.train.epochs_decay) == (200, 200)
    assert (cut.data.load_size, cut.data.crop_size) == (286, 256)
    assert cut.model.generator.antialias and cut.model.num_patches == 256


def test_the_weights_record_antialias_so_the_generator_rebuilds_the_same() -> None:
    method = create_method(load_recipe("horse2zebra_cut", ["model.generator.base_channels=2"]))
    (card,) = method.model_cards()
    assert card.kwargs["antialias"] is True and card.method == "cut" and card.key_prefix == "generator."
    rebuilt = card.build().eval()
    rebuilt.load_state_dict(method.generator.state_dict())
    x = _images(1, 32)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), method.generator.eval()(x))


def test_only_g_is_exported_and_onnx_reproduces_the_antialiased_generator(tmp_path: Path) -> None:
    from i2i.export.onnx import export_onnx
    from i2i.train.checkpoint import method_tensors
    from i2i.weights import save_weights

    recipe = load_recipe("horse2zebra_cut", ["model.generator.base_channels=2", "data.crop_size=32"])
    method = create_method(recipe)
    weights = tmp_path / "weights.safetensors"
    # every network's tensors, as a checkpoint holds them; the card names only G's
    save_weights(weights, method_tensors(method), method.model_cards(crop_size=32))
    generator, card = load_generator(weights)
    assert card.kwargs["antialias"] is True
    x = _images(1, 32)
    with torch.no_grad():
        assert torch.equal(generator(x), method.generator.eval()(x))
    # verify=True compares ONNX Runtime with PyTorch at two sizes and raises beyond 1e-4
    exported = export_onnx(generator, card, tmp_path / "g.onnx")
    assert exported.method == "cut" and exported.kwargs["antialias"] is True


def _domain_statistic(images: torch.Tensor) -> torch.Tensor:
    """Per image, the fraction of its clearly coloured pixels (max - min channel > 0.3 in [0, 1]) that
    are cool (blue above red): 0 on every built-in domain A image (warm circles), 1 on every domain B
    image (cool squares). (N, 3, H, W) in [-1, 1] -> (N,)."""
    x = (images + 1) / 2
    coloured = (x.amax(1) - x.amin(1)) > 0.3
    cool = (x[:, 2] > x[:, 0]) & coloured
    return cool.flatten(1).sum(1) / coloured.flatten(1).sum(1).clamp(min=1)


@pytest.mark.slow  # the demo recipe: ~40 s on 2 idle cores
def test_the_demo_recipe_learns_warm_circles_to_cool_squares(tmp_path: Path) -> None:
    result = train(load_recipe("demo_cut"), tmp_path, progress=False)
    generator, _ = load_generator(tmp_path)
    real_a = torch.stack([to_tensor(synthetic_domain_image("a", i, 64, split="test")) for i in range(32)])
    real_b = torch.stack([to_tensor(synthetic_domain_image("b", i, 64, split="test")) for i in range(32)])
    assert _domain_statistic(real_a).max() == 0 and _domain_statistic(real_b).min() == 1
    with torch.no_grad():
        fake_b = generator(real_a)
    cool = _domain_statistic(fake_b)
    # chance (an output that kept A's colours) is 0; the translated images' colours are mostly cool
    assert result.step == 128 and cool.mean() > 0.8, cool
