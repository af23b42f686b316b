"""pix2pix: conditional GAN on paired images (Isola et al., "Image-to-Image Translation with
Conditional Adversarial Networks", CVPR 2017).

G maps an input image x to y; the discriminator D judges (x, y) pairs, so it learns whether y is a
plausible translation *of x*. G minimises the adversarial loss plus ``lambda_l1 * |y - G(x)|_1``
(the paper's equation 4, lambda = 100), the L1 term keeping the low frequencies right and the
PatchGAN D the high ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from pydantic import Field
from torch import Tensor, nn

from i2i.card import ModelCard
from i2i.losses import generator_loss, l1_loss
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
from i2i.nn import DISCRIMINATORS, GENERATORS

__all__ = ["Pix2Pix", "pix2pix"]


class Pix2PixSection(MethodSection):
    """pix2pix's ``model:`` keys: conditional GAN + L1 to the target (Isola et al. 2017)."""

    lambda_l1: float = Field(default=100.0, ge=0.0)


class Pix2Pix(Method):
    """pix2pix: generator ``generator`` (a -> b) and conditional discriminator ``discriminator``.

    Args:
        generator: Registered generator name (``"unet_256"``).
        generator_kwargs: Its keyword arguments except the channel counts (``base_channels``, ``norm`` ...).
        discriminator: Registered discriminator name (``"patchgan"``).
        discriminator_kwargs: Its keyword arguments except ``in_channels``.
        in_channels: Channels of the input images ``a``.
        out_channels: Channels of the target images ``b``.
        gan_mode: A name in :data:`i2i.losses.GAN_MODES` (``"vanilla"`` in the paper).
        lambda_l1: Weight of the L1 term (100 in the paper).
        lr: Adam learning rate of both networks.
        betas: Adam ``(beta1, beta2)``; the paper uses ``(0.5, 0.999)``.
        direction: The data direction the generator was trained on, recorded in its model card.
        lambda_gp: Gradient-penalty weight for ``gan_mode="wgangp"``.
        clip_value: WGAN weight clipping of the discriminator(s) after each of their steps (None: off).
        n_critic: Discriminator steps per generator step.
        optimizer: ``"adam"`` or ``"rmsprop"`` (see :func:`~i2i.methods.base.create_optimizer`).
    """

    method_name = "pix2pix"
    recipe_section = Pix2PixSection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        "data": {"layout": "aligned"},
        "model": {
            "generator": {"name": "unet_256", "norm": "batch", "dropout": 0.5},
            "discriminator": {"norm": "batch"},
            "gan_mode": "vanilla",
        },
    }
    recipe_layouts: ClassVar[str | tuple[str, ...]] = "paired"

    def __init__(
        self,
        *,
        generator: str = "unet_256",
        generator_kwargs: Mapping[str, Any] | None = None,
        discriminator: str = "patchgan",
        discriminator_kwargs: Mapping[str, Any] | None = None,
        in_channels: int = 3,
        out_channels: int = 3,
        gan_mode: str = "vanilla",
        lambda_l1: float = 100.0,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        direction: str = "a2b",
        lambda_gp: float = 10.0,
        clip_value: float | None = None,
        n_critic: int = 1,
        optimizer: str = "adam",
    ) -> None:
        super().__init__(gan_mode=gan_mode, lambda_gp=lambda_gp, clip_value=clip_value, n_critic=n_critic)
        self.lambda_l1 = lambda_l1
        self.direction = direction
        self.generator_arch = generator
        self.generator_kwargs = network_kwargs(
            GENERATORS.get(generator),
            {**(generator_kwargs or {}), "in_channels": in_channels, "out_channels": out_channels},
        )
        d_kwargs = network_kwargs(
            DISCRIMINATORS.get(discriminator),
            {**(discriminator_kwargs or {}), "in_channels": in_channels + out_channels},
        )
        self.generator = GENERATORS.build(generator, **self.generator_kwargs)
        self.discriminator = DISCRIMINATORS.build(discriminator, **d_kwargs)  # judges cat(a, b)
        self.build_optimizers(OptimizerSettings(optimizer, lr, betas))

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"g": list(self.generator.parameters()), "d": list(self.discriminator.parameters())}

    def translate(self, real_a: Tensor) -> Tensor:
        """G(x) in training: the generator that L1 and D see (colorization: the ``L -> ab`` network)."""
        return self.generator(real_a)

    def training_step(self, batch: Batch) -> StepOutput:
        real_a, real_b = batch.a, batch.b  # (B, C_in, H, W), (B, C_out, H, W) in [-1, 1]
        fake_b = self.translate(real_a)  # G(x)
        losses: dict[str, Tensor] = {}

        # D first, as the paper's alternation and the reference's optimize_parameters: real pairs
        # (x, y) against detached fakes (x, G(x)); G's step below then plays against the updated D.
        loss_d = self.discriminator_loss(
            self.discriminator, torch.cat([real_a, real_b], 1), torch.cat([real_a, fake_b], 1)
        )
        self.step(self.optimizers["d"], loss_d["d"])
        self.clip_weights(self.discriminator)

        if self.generator_turn():  # G: fool D on the pair and stay near the target (1 step in n_critic)
            with frozen(self.discriminator):
                loss_g_gan = generator_loss(self.discriminator(torch.cat([real_a, fake_b], 1)), self.gan_mode)
                loss_g_l1 = l1_loss(fake_b, real_b)
                self.step(self.optimizers["g"], loss_g_gan + self.lambda_l1 * loss_g_l1)
            losses |= {"g/gan": loss_g_gan, "g/l1": loss_g_l1}
        self.steps_done += 1

        losses |= loss_d
        return StepOutput(
            losses=losses, images={"real_a": real_a, "fake_b": fake_b, "real_b": real_b}
        ).detached()

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        return [
            self.generator_card("generator", recipe=recipe, crop_size=crop_size, direction=self.direction)
        ]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        return {"input": batch.a, "output": self.generator(batch.a), "target": batch.b}


@METHODS.register
def pix2pix(*, recipe: Any) -> Pix2Pix:
    """pix2pix (Isola et al. 2017): U-Net + PatchGAN on (a, b) pairs, GAN + L1 loss; paired data."""
    model, data = recipe.model, recipe.data
    return Pix2Pix(
        **recipe_kwargs(recipe),
        in_channels=data.in_channels,
        out_channels=data.out_channels,
        lambda_l1=model.lambda_l1,
        direction=data.direction,
    )
