"""CycleGAN: unpaired translation with cycle consistency (Zhu et al., "Unpaired Image-to-Image
Translation using Cycle-Consistent Adversarial Networks", ICCV 2017).

Names map to the paper as follows (X = domain a, Y = domain b)::

    g_ab = G: X -> Y        d_b = D_Y judges Y images (real_b vs G(x))     (reference: netG_A, netD_A)
    g_ba = F: Y -> X        d_a = D_X judges X images (real_a vs F(y))     (reference: netG_B, netD_B)

G and F minimise the adversarial losses (least squares in the paper), the cycle losses
``|F(G(x)) - x|_1`` and ``|G(F(y)) - y|_1`` weighted by lambda = 10, and the identity losses
``|G(y) - y|_1`` and ``|F(x) - x|_1`` weighted by ``0.5 * lambda`` (section 5.2, used for photo <->
painting). Each direction may have its own lambda (the reference's ``lambda_A`` for the cycle
x -> G -> F -> x and ``lambda_B`` for y -> F -> G -> y); the identity loss of the generator that
produces a domain uses that domain's lambda, as in the reference (``G(y) ~ y`` with lambda_B). The discriminators see fakes through a history of 50 images (section 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from i2i.card import ModelCard
from i2i.losses import cycle_loss, generator_loss, identity_loss
from i2i.methods.base import (
    METHODS,
    Batch,
    Method,
    MethodSection,
    OptimizerSettings,
    StepOutput,
    frozen,
    network_kwargs,
    recipe_kwargs,
)
from i2i.methods.image_pool import ImagePool
from i2i.nn import DISCRIMINATORS, GENERATORS

__all__ = ["CycleGAN", "cyclegan"]

_OPPOSITE = {"a2b": "b2a", "b2a": "a2b"}


class CycleGANSection(MethodSection):
    """CycleGAN's ``model:`` keys: cycle consistency and identity weights, the fake history (Zhu et al. 2017)."""

    lambda_cycle: float = Field(default=10.0, ge=0.0)  # the cycle weight of both directions
    # per direction (the reference's lambda_A, lambda_B); None: lambda_cycle
    lambda_a: float | None = Field(default=None, ge=0.0)  # cycle a -> b -> a, identity F(x) ~ x
    lambda_b: float | None = Field(default=None, ge=0.0)  # cycle b -> a -> b, identity G(y) ~ y
    lambda_identity: float = Field(default=0.5, ge=0.0)  # identity weight, relative to lambda_cycle
    # history of generated images shown to D; 0 disables. At most 1000 (20x the reference's 50): the pool
    # holds that many images in memory
    pool_size: int = Field(default=50, ge=0, le=1000)


class CycleGAN(Method):
    """CycleGAN: generators ``g_ab``, ``g_ba`` and discriminators ``d_a``, ``d_b`` (see the module).

    Args:
        generator: Registered generator name of both generators (``"resnet_9blocks"``).
        generator_kwargs: Their keyword arguments except the channel counts.
        discriminator: Registered discriminator name of both discriminators (``"patchgan"``).
        discriminator_kwargs: Their keyword arguments except ``in_channels``.
        in_channels: Channels of domain a images.
        out_channels: Channels of domain b images.
        gan_mode: A name in :data:`i2i.losses.GAN_MODES` (``"lsgan"`` in the paper).
        lambda_cycle: Weight of each cycle loss (10).
        lambda_a: Weight of the cycle ``F(G(x)) ~ x`` and, times ``lambda_identity``, of the identity
            ``F(x) ~ x`` (the reference's ``lambda_A``); ``None``: ``lambda_cycle``.
        lambda_b: Weight of the cycle ``G(F(y)) ~ y`` and, times ``lambda_identity``, of the identity
            ``G(y) ~ y`` (the reference's ``lambda_B``); ``None``: ``lambda_cycle``.
        lambda_identity: Identity weight as a fraction of the cycle weights (0.5); 0 disables it.
        pool_size: Images in each fake history (50); 0 disables the pools.
        lr: Adam learning rate of all networks.
        betas: Adam ``(beta1, beta2)``; ``(0.5, 0.999)`` in the reference.
        direction: The data direction ``g_ab`` was trained on (``g_ba`` gets the opposite).
        seed: Seed of the image pools' random generators.
        lambda_gp: Gradient-penalty weight for ``gan_mode="wgangp"``.
        clip_value: WGAN weight clipping of the discriminator(s) after each of their steps (None: off).
        n_critic: Discriminator steps per generator step.
        optimizer: ``"adam"`` or ``"rmsprop"`` (see :func:`~i2i.methods.base.create_optimizer`).
    """

    method_name = "cyclegan"
    generator_names = ("g_ab", "g_ba")
    recipe_section = CycleGANSection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        "data": {"layout": "unaligned"},
        "model": {
            "generator": {"name": "resnet_9blocks", "norm": "instance", "dropout": 0.0},
            "discriminator": {"norm": "instance"},
            "gan_mode": "lsgan",
        },
    }

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        if recipe.model.lambda_identity > 0 and recipe.data.in_channels != recipe.data.out_channels:
            raise ValueError(
                f"model.lambda_identity: the identity loss needs data.in_channels == data.out_channels "
                f"(got {recipe.data.in_channels} and {recipe.data.out_channels}); set it to 0"
            )

    def __init__(
        self,
        *,
        generator: str = "resnet_9blocks",
        generator_kwargs: Mapping[str, Any] | None = None,
        discriminator: str = "patchgan",
        discriminator_kwargs: Mapping[str, Any] | None = None,
        in_channels: int = 3,
        out_channels: int = 3,
        gan_mode: str = "lsgan",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        lambda_a: float | None = None,
        lambda_b: float | None = None,
        pool_size: int = 50,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        direction: str = "a2b",
        seed: int = 0,
        lambda_gp: float = 10.0,
        clip_value: float | None = None,
        n_critic: int = 1,
        optimizer: str = "adam",
    ) -> None:
        super().__init__(gan_mode=gan_mode, lambda_gp=lambda_gp, clip_value=clip_value, n_critic=n_critic)
        if lambda_identity > 0 and in_channels != out_channels:
            raise ValueError(
                f"the identity loss needs as many input as output channels (got {in_channels} and "
                f"{out_channels}); set model.lambda_identity: 0"
            )
        self.lambda_a = lambda_cycle if lambda_a is None else lambda_a
        self.lambda_b = lambda_cycle if lambda_b is None else lambda_b
        self.lambda_identity = lambda_identity
        self.direction = direction
        self.generator_arch = generator
        build_g, build_d = GENERATORS.get(generator), DISCRIMINATORS.get(discriminator)
        g_kwargs = dict(generator_kwargs or {})
        d_kwargs = dict(discriminator_kwargs or {})
        self.g_ab_kwargs = network_kwargs(
            build_g, {**g_kwargs, "in_channels": in_channels, "out_channels": out_channels}
        )
        self.g_ba_kwargs = network_kwargs(
            build_g, {**g_kwargs, "in_channels": out_channels, "out_channels": in_channels}
        )
        self.g_ab = build_g(**self.g_ab_kwargs)  # G: X -> Y
        self.g_ba = build_g(**self.g_ba_kwargs)  # F: Y -> X
        self.d_a = build_d(**network_kwargs(build_d, {**d_kwargs, "in_channels": in_channels}))  # D_X
        self.d_b = build_d(**network_kwargs(build_d, {**d_kwargs, "in_channels": out_channels}))  # D_Y
        self.fake_a_pool = ImagePool(pool_size, seed=seed)  # history of F(y) for D_X
        self.fake_b_pool = ImagePool(pool_size, seed=seed + 1)  # history of G(x) for D_Y
        # One optimizer over both generators and one over both discriminators, as the reference.
        self.build_optimizers(OptimizerSettings(optimizer, lr, betas))

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "g": [*self.g_ab.parameters(), *self.g_ba.parameters()],
            "d": [*self.d_a.parameters(), *self.d_b.parameters()],
        }

    def training_step(self, batch: Batch) -> StepOutput:
        real_a, real_b = batch.a, batch.b  # x, y: (B, C_a, H, W), (B, C_b, H, W) in [-1, 1], unpaired
        fake_b = self.g_ab(real_a)  # G(x)
        rec_a = self.g_ba(fake_b)  # F(G(x)) ~ x
        fake_a = self.g_ba(real_b)  # F(y)
        rec_b = self.g_ab(fake_a)  # G(F(y)) ~ y

        losses: dict[str, Tensor] = {}
        if self.generator_turn():  # G and F (1 step in n_critic): fool D_Y and D_X, keep the cycles
            with frozen(self.d_a, self.d_b):
                loss_gan_ab = generator_loss(self.d_b(fake_b), self.gan_mode)
                loss_gan_ba = generator_loss(self.d_a(fake_a), self.gan_mode)
                loss_cycle_a = cycle_loss(real_a, rec_a)
                loss_cycle_b = cycle_loss(real_b, rec_b)
                loss_g = (
                    loss_gan_ab + loss_gan_ba + self.lambda_a * loss_cycle_a + self.lambda_b * loss_cycle_b
                )
                losses = {
                    "g": loss_g,
                    "g/gan_ab": loss_gan_ab,
                    "g/gan_ba": loss_gan_ba,
                    "g/cycle_a": loss_cycle_a,
                    "g/cycle_b": loss_cycle_b,
                }
                if self.lambda_identity > 0:
                    loss_idt_b = identity_loss(real_b, self.g_ab(real_b))  # G(y) ~ y
                    loss_idt_a = identity_loss(real_a, self.g_ba(real_a))  # F(x) ~ x
                    loss_g = loss_g + self.lambda_identity * (
                        self.lambda_a * loss_idt_a + self.lambda_b * loss_idt_b
                    )
                    losses |= {"g": loss_g, "g/idt_a": loss_idt_a, "g/idt_b": loss_idt_b}
                self.step(self.optimizers["g"], loss_g)

        # D_X and D_Y: real images against fakes drawn from the histories
        loss_d_a = self.discriminator_loss(self.d_a, real_a, self.fake_a_pool.query(fake_a))
        loss_d_b = self.discriminator_loss(self.d_b, real_b, self.fake_b_pool.query(fake_b))
        self.step(self.optimizers["d"], loss_d_a["d"] + loss_d_b["d"])
        self.clip_weights(self.d_a, self.d_b)
        self.steps_done += 1
        for domain, parts in (("a", loss_d_a), ("b", loss_d_b)):
            losses |= {name.replace("d", f"d/{domain}", 1): value for name, value in parts.items()}

        return StepOutput(
            losses=losses,
            images={
                "real_a": real_a,
                "fake_b": fake_b,
                "rec_a": rec_a,
                "real_b": real_b,
                "fake_a": fake_a,
                "rec_b": rec_b,
            },
        ).detached()

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        return [
            self.generator_card("g_ab", recipe=recipe, crop_size=crop_size, direction=self.direction),
            self.generator_card(
                "g_ba", recipe=recipe, crop_size=crop_size, direction=_OPPOSITE[self.direction]
            ),
        ]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        fake_b, fake_a = self.g_ab(batch.a), self.g_ba(batch.b)
        return {
            "real_a": batch.a,
            "fake_b": fake_b,
            "rec_a": self.g_ba(fake_b),
            "real_b": batch.b,
            "fake_a": fake_a,
            "rec_b": self.g_ab(fake_a),
        }

    def extra_state(self) -> dict[str, Any]:
        return {
            **super().extra_state(),
            "fake_a_pool": self.fake_a_pool.state_dict(),
            "fake_b_pool": self.fake_b_pool.state_dict(),
        }

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        super().load_extra_state(state)
        self.fake_a_pool.load_state_dict(state["fake_a_pool"])
        self.fake_b_pool.load_state_dict(state["fake_b_pool"])


@METHODS.register
def cyclegan(*, recipe: Any) -> CycleGAN:
    """CycleGAN (Zhu et al. 2017): two ResNet generators and two PatchGANs, LSGAN + cycle + identity; unpaired data."""
    model, train, data = recipe.model, recipe.train, recipe.data
    return CycleGAN(
        **recipe_kwargs(recipe),
        in_channels=data.in_channels,
        out_channels=data.out_channels,
        lambda_cycle=model.lambda_cycle,
        lambda_identity=model.lambda_identity,
        lambda_a=model.lambda_a,
        lambda_b=model.lambda_b,
        pool_size=model.pool_size,
        direction=data.direction,
        seed=train.seed,
    )
