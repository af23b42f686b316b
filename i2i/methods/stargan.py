"""StarGAN: multi-domain image-to-image translation with one generator (Choi et al., "StarGAN: Unified
Generative Adversarial Networks for Multi-Domain Image-to-Image Translation", CVPR 2018).

``G(x, c)`` translates image ``x`` into target domain ``c`` (one-hot input channels). The
discriminator has two heads on shared features: ``D_src`` (real/fake, a PatchGAN map) and ``D_cls``
(the domain). The paper's objectives (equations 1-7), WGAN-GP by default:

- D: ``L_adv + lambda_cls * L_cls^r + lambda_gp * GP`` with ``L_cls^r = CE(D_cls(x), c')`` on real
  images of domain ``c'``;
- G: ``L_adv + lambda_cls * L_cls^f + lambda_rec * |x - G(G(x, c), c')|_1`` with
  ``L_cls^f = CE(D_cls(G(x, c)), c)``; lambda_cls = 1, lambda_rec = 10, lambda_gp = 10.

Each training step makes one discriminator step; the generator steps once in ``n_critic`` (5).
Target domains are drawn uniformly among the domains *other* than the image's own, so every fake is
a real translation (with two domains, StarGAN's shuffled labels would often ask for the identity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
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
    check_labelled_recipe,
    frozen,
    network_kwargs,
    recipe_kwargs,
)
from i2i.nn import DISCRIMINATORS, GENERATORS

__all__ = ["StarGAN", "stargan"]


class StarGANSection(MethodSection):
    """stargan's ``model:`` keys: one domain-conditioned generator, D with a domain classifier (Choi et al. 2018)."""

    lambda_rec: float = Field(default=10.0, ge=0.0)  # reconstruction (cycle) loss weight
    lambda_cls: float = Field(default=1.0, ge=0.0)  # domain classification loss weight


class StarGAN(Method):
    """StarGAN: generator ``generator`` (image, target domain -> image) and two-headed ``discriminator``.

    Args:
        generator: Registered domain-conditioned generator (``"stargan"``).
        generator_kwargs: Its keyword arguments except channels and domains.
        discriminator: Registered discriminator with a domain head (``"stargan"``).
        discriminator_kwargs: Its keyword arguments except channels, domains and image size.
        channels: Image channels.
        image_size: Training image size (the domain classifier's kernel depends on it).
        domains: Domain names in label order.
        gan_mode: A name in :data:`i2i.losses.GAN_MODES` (``"wgangp"`` in the paper).
        lambda_rec: Reconstruction (cycle) loss weight (10).
        lambda_cls: Domain classification loss weight (1).
        lr: Learning rate of both networks (1e-4 in the paper).
        betas: Adam ``(beta1, beta2)`` (``(0.5, 0.999)``).
        optimizer: ``"adam"`` or ``"rmsprop"``.
        lambda_gp: Gradient-penalty weight (10).
        clip_value: WGAN weight clipping of D (None: off).
        n_critic: Discriminator steps per generator step (5).
    """

    method_name = "stargan"
    recipe_section = StarGANSection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        "data": {"layout": "domains", "load_size": 143, "crop_size": 128},
        "model": {
            "generator": {"name": "stargan", "norm": "instance", "dropout": 0.0},
            "discriminator": {"name": "stargan", "norm": "none"},
            "gan_mode": "wgangp",
        },
        "train": {"batch_size": 16, "lr": 1e-4, "n_critic": 5},
    }
    recipe_layouts = ("domains", "synthetic_domains")

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        check_labelled_recipe(recipe, generators=("stargan",), discriminators=("stargan",))
        layers = recipe.model.discriminator.num_layers or 6
        if recipe.data.crop_size % 2**layers:
            raise ValueError(
                f"data.crop_size: {recipe.data.crop_size} is not a multiple of 2**{layers}, which the stargan "
                "discriminator's domain classifier needs (set model.discriminator.num_layers lower)"
            )

    def __init__(
        self,
        *,
        generator: str = "stargan",
        generator_kwargs: Mapping[str, Any] | None = None,
        discriminator: str = "stargan",
        discriminator_kwargs: Mapping[str, Any] | None = None,
        channels: int = 3,
        image_size: int = 128,
        domains: Sequence[str] = ("a", "b"),
        gan_mode: str = "wgangp",
        lambda_rec: float = 10.0,
        lambda_cls: float = 1.0,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        optimizer: str = "adam",
        lambda_gp: float = 10.0,
        clip_value: float | None = None,
        n_critic: int = 5,
    ) -> None:
        super().__init__(gan_mode=gan_mode, lambda_gp=lambda_gp, clip_value=clip_value, n_critic=n_critic)
        self.domains = list(domains)
        if len(self.domains) < 2:
            raise ValueError(f"stargan needs at least two domains, got {self.domains}")
        self.lambda_rec = lambda_rec
        self.lambda_cls = lambda_cls
        self.generator_arch = generator
        count = len(self.domains)
        self.generator_kwargs = network_kwargs(
            GENERATORS.get(generator),
            {
                **(generator_kwargs or {}),
                "in_channels": channels,
                "out_channels": channels,
                "num_domains": count,
            },
        )
        d_kwargs = network_kwargs(
            DISCRIMINATORS.get(discriminator),
            {
                **(discriminator_kwargs or {}),
                "in_channels": channels,
                "num_domains": count,
                "image_size": image_size,
            },
        )
        self.generator = GENERATORS.build(generator, **self.generator_kwargs)
        self.discriminator = DISCRIMINATORS.build(discriminator, **d_kwargs)
        self.build_optimizers(OptimizerSettings(optimizer, lr, betas))

    def batch_from_items(self, items: Mapping[str, Any], device: torch.device | str = "cpu") -> Batch:
        return Batch.from_labelled_items(items, device)

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"g": list(self.generator.parameters()), "d": list(self.discriminator.parameters())}

    def training_step(self, batch: Batch) -> StepOutput:
        real, source = batch.a, batch.labels  # x: (B, C, H, W) in [-1, 1]; c': (B,) its domains
        if source is None:
            raise ValueError(
                "stargan trains on labelled data: batches need domain labels (see i2i.data.labelled)"
            )
        count = len(self.domains)
        offset = torch.randint(1, count, source.shape, device=source.device)
        target = (source + offset) % count  # c: a random domain other than the image's own
        fake = self.generator(real, target)  # G(x, c)

        # D: real/fake by D_src, the real image's domain by D_cls (eq. 3, 7)
        src_real, cls_real = self.discriminator(real, with_classes=True)
        src_fake = self.discriminator(fake.detach())
        losses = self.adversarial_d_loss(src_real, src_fake, self.discriminator, real, fake.detach())
        loss_d_cls = F.cross_entropy(cls_real, source)
        losses = {**losses, "d": losses["d"] + self.lambda_cls * loss_d_cls, "d/cls": loss_d_cls}
        self.step(self.optimizers["d"], losses["d"])
        self.clip_weights(self.discriminator)

        rec: Tensor | None = None
        if (
            self.generator_turn()
        ):  # G (1 step in n_critic): fool D_src, be classified as c, come back (eq. 4, 5, 6)
            with frozen(self.discriminator):
                src, cls = self.discriminator(fake, with_classes=True)
                loss_g_adv = generator_loss(src, self.gan_mode)
                loss_g_cls = F.cross_entropy(cls, target)
                rec = self.generator(fake, source)  # G(G(x, c), c') ~ x
                loss_g_rec = l1_loss(rec, real)
                loss_g = loss_g_adv + self.lambda_rec * loss_g_rec + self.lambda_cls * loss_g_cls
                self.step(self.optimizers["g"], loss_g)
            losses |= {"g": loss_g, "g/adv": loss_g_adv, "g/cls": loss_g_cls, "g/rec": loss_g_rec}
        self.steps_done += 1
        images = {"real": real, "fake": fake} | ({"rec": rec} if rec is not None else {})
        return StepOutput(losses=losses, images=images).detached()

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        return [
            self.generator_card("generator", recipe=recipe, crop_size=crop_size, domains=tuple(self.domains))
        ]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        """The input, then its translation into every domain (one column per domain)."""
        x = batch.a
        columns = {"input": x}
        for index, name in enumerate(self.domains):
            columns[name] = self.generator(
                x, torch.full((x.shape[0],), index, dtype=torch.long, device=x.device)
            )
        return columns


@METHODS.register
def stargan(*, recipe: Any) -> StarGAN:
    """StarGAN (Choi et al. 2018): one generator for all domains, D with a domain classifier, WGAN-GP + cycle."""
    model, data = recipe.model, recipe.data
    return StarGAN(
        **recipe_kwargs(recipe),
        channels=data.in_channels,
        image_size=data.crop_size,
        domains=data.classes,  # resolved from the layout by the recipe
        lambda_rec=model.lambda_rec,
        lambda_cls=model.lambda_cls,
    )
