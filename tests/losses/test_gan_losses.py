"""GAN objectives and the gradient penalty: hand-computed values, gradients, module twins, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from i2i.losses import (
    GAN_MODES,
    GANLoss,
    GradientPenalty,
    discriminator_loss,
    gan_loss,
    generator_loss,
    gradient_penalty,
)

MODES = ["hinge", "lsgan", "vanilla", "wgan", "wgangp"]
REAL = torch.tensor([0.0, 2.0])  # logits on real samples
FAKE = torch.tensor([-1.0, 4.0])  # logits on generated samples


def _softplus(x: float) -> float:
    return math.log(1 + math.exp(x))


# mode -> (discriminator real term on REAL, discriminator fake term on FAKE, generator term on FAKE),
# each computed by hand from the formulas in CONTRACTS.md.
EXPECTED = {
    # BCE(x, 1) = log(1 + e^-x); BCE(x, 0) = log(1 + e^x)
    "vanilla": (
        (math.log(2) + _softplus(-2)) / 2,
        (_softplus(-1) + _softplus(4)) / 2,
        (_softplus(1) + _softplus(-4)) / 2,
    ),
    # mean((real - 1)^2) = (1 + 1) / 2; mean(fake^2) = (1 + 16) / 2; mean((fake - 1)^2) = (4 + 9) / 2
    "lsgan": (1.0, 8.5, 6.5),
    # -mean(real) = -1; mean(fake) = 1.5; -mean(fake) = -1.5
    "wgan": (-1.0, 1.5, -1.5),
    "wgangp": (-1.0, 1.5, -1.5),
    # mean(relu(1 - real)) = (1 + 0) / 2; mean(relu(1 + fake)) = (0 + 5) / 2; -mean(fake) = -1.5
    "hinge": (0.5, 2.5, -1.5),
}


def test_registry_holds_every_mode_with_a_one_line_description() -> None:
    assert GAN_MODES.names() == MODES
    descriptions = GAN_MODES.describe()
    assert all(descriptions[mode] and "\n" not in descriptions[mode] for mode in MODES)


@pytest.mark.parametrize("mode", MODES)
def test_terms_match_hand_computed_values(mode: str) -> None:
    real_term, fake_term, generator_term = EXPECTED[mode]
    assert gan_loss(REAL, True, mode).item() == pytest.approx(real_term, abs=1e-6)
    assert gan_loss(FAKE, False, mode).item() == pytest.approx(fake_term, abs=1e-6)
    assert gan_loss(FAKE, True, mode, for_discriminator=False).item() == pytest.approx(
        generator_term, abs=1e-6
    )
    assert discriminator_loss(REAL, FAKE, mode).item() == pytest.approx(real_term + fake_term, abs=1e-6)
    assert generator_loss(FAKE, mode).item() == pytest.approx(generator_term, abs=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_list_predictions_are_averaged_over_scales(mode: str) -> None:
    coarse, fine = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 2, 2)
    assert torch.allclose(
        gan_loss([coarse, fine], False, mode),
        (gan_loss(coarse, False, mode) + gan_loss(fine, False, mode)) / 2,
    )
    expected_d = (discriminator_loss(coarse, fine, mode) + discriminator_loss(fine, coarse, mode)) / 2
    assert torch.allclose(discriminator_loss([coarse, fine], (fine, coarse), mode), expected_d)
    expected_g = (generator_loss(coarse, mode) + generator_loss(fine, mode)) / 2
    assert torch.allclose(generator_loss([coarse, fine], mode), expected_g)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_match_finite_differences(mode: str) -> None:
    real = torch.randn(2, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(2, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda r, f: discriminator_loss(r, [f, f[..., :2, :2]], mode), (real, fake)
    )
    assert torch.autograd.gradcheck(lambda f: generator_loss(f, mode), (fake,))


@pytest.mark.parametrize("mode", MODES)
def test_module_equals_function(mode: str) -> None:
    criterion = GANLoss(mode)
    real, fake = torch.randn(2, 1, 4, 4), [torch.randn(2, 1, 4, 4), torch.randn(2, 1, 2, 2)]
    assert torch.equal(criterion(real, True), gan_loss(real, True, mode))
    assert torch.equal(criterion(fake, False), gan_loss(fake, False, mode))
    assert torch.equal(criterion(fake, True, for_discriminator=False), generator_loss(fake, mode))
    assert torch.equal(criterion.discriminator(real, fake), discriminator_loss(real, fake, mode))
    assert torch.equal(criterion.generator(fake), generator_loss(fake, mode))


def test_unknown_mode_suggests_close_names() -> None:
    with pytest.raises(ValueError, match=r"unknown GAN objective 'lsgam'; did you mean 'lsgan'"):
        gan_loss(REAL, True, "lsgam")
    with pytest.raises(ValueError, match="did you mean 'hinge'"):
        GANLoss("hinje")


def test_generator_loss_needs_a_real_target() -> None:
    with pytest.raises(ValueError, match="target_is_real=True"):
        gan_loss(FAKE, False, "lsgan", for_discriminator=False)


def test_empty_prediction_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        generator_loss([], "lsgan")


def _linear_critic(w: Tensor) -> nn.Module:
    class Linear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(w.clone())

        def forward(self, x: Tensor) -> Tensor:
            return (x * self.w).flatten(1).sum(1)  # (B,): D(x) = sum(w * x)

    return Linear()


def test_gradient_penalty_of_a_linear_critic_is_norm_of_w_minus_one_squared() -> None:
    w = torch.randn(3, 4, 4)
    critic = _linear_critic(w)
    penalty = gradient_penalty(critic, torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4))
    # grad_x D = w for every x_hat, so the penalty is (||w|| - 1)^2 whatever eps is drawn
    expected = (w.norm() - 1) ** 2
    assert torch.allclose(penalty, expected, rtol=1e-6)
    assert torch.equal(GradientPenalty()(critic, torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)), penalty)

    penalty.backward()  # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert critic.w.grad is not None
    assert torch.allclose(critic.w.grad, 2 * (w.norm() - 1) * w / w.norm(), rtol=1e-5, atol=1e-6)


def test_gradient_penalty_interpolates_per_sample_with_the_given_generator() -> None:
    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)

    def critic(x: Tensor) -> Tensor:
        return 0.5 * x.square().flatten(1).sum(1)  # grad_x D = x, so the norm is ||x_hat||

    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(4, 1, 1, 1, generator=torch.Generator().manual_seed(7))
    x_hat = eps * real + (1 - eps) * fake
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert torch.allclose(penalty, expected, rtol=1e-6)


def test_gradient_penalty_averages_multiscale_outputs() -> None:
    w1, w2 = torch.randn(1, 2, 2), torch.randn(1, 2, 2)

    def critic(x: Tensor) -> list[Tensor]:
        return [(x * w1).flatten(1).sum(1, keepdim=True), (x * w2).flatten(1).sum(1, keepdim=True)]

    penalty = gradient_penalty(critic, torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2))
    expected = ((w1.norm() - 1) ** 2 + (w2.norm() - 1) ** 2) / 2
    assert torch.allclose(penalty, expected, rtol=1e-6)


def test_gradient_penalty_gradients_match_finite_differences() -> None:
    real = torch.randn(2, 1, 2, 2, dtype=torch.float64)
    fake = torch.randn(2, 1, 2, 2, dtype=torch.float64)
    w = torch.randn(1, 2, 2, dtype=torch.float64, requires_grad=True)

    def penalty(w: Tensor) -> Tensor:
        def critic(x: Tensor) -> Tensor:
            return torch.tanh(x * w).flatten(1).sum(1)

        return gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))

    assert torch.autograd.gradcheck(penalty, (w,))


def test_gradient_penalty_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(lambda x: x.sum(), torch.zeros(2, 3), torch.zeros(2, 4))
