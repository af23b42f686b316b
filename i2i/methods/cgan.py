"""Class-conditional GAN: noise + label -> image (Mirza & Osindero, "Conditional Generative Adversarial
Nets", 2014), with DCGAN networks (Radford et al. 2016).

The generator ``G(z, y)`` reads the label through an embedding concatenated to the noise. The
discriminator takes the label in one of two ways (``conditioning``):

- ``projection`` (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018):
  ``D(x, y) = psi(phi(x)) + <embed(y), phi(x)>``; the adversarial loss alone makes samples match
  their label, because a fake of the wrong class scores low under its label's projection.
- ``acgan`` (Odena et al., "Conditional Image Synthesis with Auxiliary Classifier GANs", ICML 2017): D
  judges real/fake without the label and classifies the image with a second head; D minimises the
  cross-entropy on real and fake images, G the cross-entropy of its fakes against the label they
  were asked for, both weighted by ``lambda_cls``.

Each training step makes one discriminator step on the batch's real images and fakes drawn for the
batch's labels, and, on one step in ``n_critic``, one generator step on the same fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from i2i.card import ModelCard
from i2i.losses import generator_loss
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
from i2i.nn.generators.dcgan import upsampling_steps

__all__ = ["CGAN", "CONDITIONINGS", "cgan"]

CONDITIONINGS: tuple[str, ...] = ("projection", "acgan")


class CGANSection(MethodSection):
    """cgan's ``model:`` keys: class-conditional DCGAN, the label into D by projection or an auxiliary classifier."""

    conditioning: Literal["projection", "acgan"] = "projection"  # Miyato & Koyama 2018 / Odena et al. 2017
    # upper bounds 4096: 40x DCGAN's noise, 8x StyleGAN's; they only turn a typo into a one-line error
    latent_dim: int = Field(default=100, ge=1, le=4096)  # noise size (DCGAN: 100)
    embedding_dim: int | None = Field(
        default=None, ge=1, le=4096
    )  # G's label embedding; None: number of classes
    lambda_cls: float = Field(default=1.0, ge=0.0)  # acgan: weight of the classification losses


class CGAN(Method):
    """Class-conditional GAN: generator ``generator`` (noise, label -> image) and ``discriminator``.

    Args:
        generator: Registered conditional generator (``"dcgan"``).
        generator_kwargs: Its keyword arguments except sizes and classes (``base_channels``, ``norm`` ...).
        discriminator: Registered conditional discriminator (``"dcgan"``).
        discriminator_kwargs: Its keyword arguments except channels, classes and conditioning;
            ``num_layers`` defaults to ``log2(image_size / 4)``, so a full-size image gives one logit.
        channels: Image channels (1 for MNIST).
        image_size: Image height and width, ``4 * 2**k``.
        classes: Class names in label order (their number sets the embeddings); sample grid columns.
        latent_dim: Size of the noise (100 as DCGAN).
        embedding_dim: Size of the generator's label embedding (default: the number of classes).
        conditioning: ``"projection"`` or ``"acgan"`` (see the module).
        lambda_cls: ACGAN's classification loss weight (1).
        gan_mode: A name in :data:`i2i.losses.GAN_MODES`.
        lr: Learning rate of both networks.
        betas: Adam ``(beta1, beta2)``; DCGAN uses ``(0.5, 0.999)``.
        optimizer: ``"adam"`` or ``"rmsprop"``.
        lambda_gp: Gradient-penalty weight for ``wgangp``.
        clip_value: WGAN weight clipping of D (None: off).
        n_critic: Discriminator steps per generator step.
        seed: Seed of the fixed noise of the sample grid.
    """

    method_name = "cgan"
    recipe_section = CGANSection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        "data": {
            "layout": "digits",
            "in_channels": 1,
            "out_channels": 1,
            "load_size": 32,
            "crop_size": 32,
            "preprocess": "none",
            "flip": False,
        },
        "model": {
            "generator": {"name": "dcgan", "norm": "batch", "dropout": 0.0},
            "discriminator": {"name": "dcgan", "norm": "batch"},
            "gan_mode": "vanilla",
        },
        "train": {
            "batch_size": 64,
            "schedule": "constant",
            "epochs": 25,
            "epochs_decay": 0,
            "num_samples": 8,
        },
    }
    recipe_layouts = ("digits", "mnist", "fashion_mnist", "domains")

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        check_labelled_recipe(recipe, generators=("dcgan",), discriminators=("dcgan",))
        size = recipe.data.crop_size
        if size < 8 or size & (size - 1) or size % 8:  # 4 * 2**k with k >= 1
            raise ValueError(
                f"data.crop_size: the dcgan networks need 4 * 2**k pixels (8, 16, 32, 64 ...), got {size}"
            )

    def __init__(
        self,
        *,
        generator: str = "dcgan",
        generator_kwargs: Mapping[str, Any] | None = None,
        discriminator: str = "dcgan",
        discriminator_kwargs: Mapping[str, Any] | None = None,
        channels: int = 1,
        image_size: int = 32,
        classes: Sequence[str] = tuple("0123456789"),
        latent_dim: int = 100,
        embedding_dim: int | None = None,
        conditioning: str = "projection",
        lambda_cls: float = 1.0,
        gan_mode: str = "vanilla",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        optimizer: str = "adam",
        lambda_gp: float = 10.0,
        clip_value: float | None = None,
        n_critic: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(gan_mode=gan_mode, lambda_gp=lambda_gp, clip_value=clip_value, n_critic=n_critic)
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"unknown conditioning {conditioning!r} (known: {', '.join(CONDITIONINGS)})")
        self.classes = list(classes)
        self.conditioning = conditioning
        self.lambda_cls = lambda_cls
        self.latent_dim = latent_dim
        self.seed = seed
        self.generator_arch = generator
        self.generator_kwargs = network_kwargs(
            GENERATORS.get(generator),
            {
                **(generator_kwargs or {}),
                "latent_dim": latent_dim,
                "num_classes": len(self.classes),
                "embedding_dim": embedding_dim,
                "out_channels": channels,
                "image_size": image_size,
            },
        )
        d_kwargs = dict(discriminator_kwargs or {})
        d_kwargs["num_layers"] = d_kwargs.get("num_layers") or upsampling_steps(image_size, "cgan")
        d_kwargs = network_kwargs(
            DISCRIMINATORS.get(discriminator),
            {
                **d_kwargs,
                "in_channels": channels,
                "num_classes": len(self.classes),
                "conditioning": conditioning,
            },
        )
        self.generator = GENERATORS.build(generator, **self.generator_kwargs)
        self.discriminator = DISCRIMINATORS.build(discriminator, **d_kwargs)
        self.build_optimizers(OptimizerSettings(optimizer, lr, betas))

    def batch_from_items(self, items: Mapping[str, Any], device: torch.device | str = "cpu") -> Batch:
        return Batch.from_labelled_items(items, device)

    def _judge(self, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor | None]:
        """D's logits and (acgan) class logits in one call of the network."""
        logits, classes = self.discriminator(images, labels, with_classes=True)
        return logits, classes

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"g": list(self.generator.parameters()), "d": list(self.discriminator.parameters())}

    def training_step(self, batch: Batch) -> StepOutput:
        real, labels = batch.b, batch.labels  # (B, C, S, S) in [-1, 1], (B,) int64
        if labels is None:
            raise ValueError("cgan trains on labelled data: batches need labels (see i2i.data.labelled)")
        z = torch.randn(real.shape[0], self.latent_dim, device=real.device)  # (B, latent_dim)
        fake = self.generator(z, labels)  # G(z, y), for the labels of the real batch

        # D: real (x, y) against detached fakes (G(z, y), y); acgan also classifies both
        pred_real, cls_real = self._judge(real, labels)
        pred_fake, cls_fake = self._judge(fake.detach(), labels)
        losses = self.adversarial_d_loss(
            pred_real, pred_fake, lambda x: self.discriminator(x, labels), real, fake.detach()
        )
        if cls_real is not None and cls_fake is not None:
            loss_d_cls = F.cross_entropy(cls_real, labels) + F.cross_entropy(cls_fake, labels)
            losses = {**losses, "d": losses["d"] + self.lambda_cls * loss_d_cls, "d/cls": loss_d_cls}
        self.step(self.optimizers["d"], losses["d"])
        self.clip_weights(self.discriminator)

        if self.generator_turn():  # G (1 step in n_critic): fool D under the requested label
            with frozen(self.discriminator):
                pred, classes = self._judge(fake, labels)
                loss_g_gan = generator_loss(pred, self.gan_mode)
                loss_g = loss_g_gan
                losses |= {"g/gan": loss_g_gan}
                if classes is not None:
                    loss_g_cls = F.cross_entropy(classes, labels)
                    loss_g = loss_g + self.lambda_cls * loss_g_cls
                    losses |= {"g/cls": loss_g_cls}
                self.step(self.optimizers["g"], loss_g)
        self.steps_done += 1
        return StepOutput(losses=losses, images={"real": real, "fake": fake}).detached()

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        return [
            self.generator_card("generator", recipe=recipe, crop_size=crop_size, classes=tuple(self.classes))
        ]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        """One column per class, one row per fixed noise vector (``len(batch)`` rows, same every call)."""
        rows = len(batch)
        noise = torch.Generator().manual_seed(self.seed)
        z = torch.randn(rows, self.latent_dim, generator=noise).to(batch.a.device)
        return {
            name: self.generator(z, torch.full((rows,), label, dtype=torch.long, device=z.device))
            for label, name in enumerate(self.classes)
        }


@METHODS.register
def cgan(*, recipe: Any) -> CGAN:
    """Class-conditional GAN (DCGAN networks; projection or ACGAN discriminator): noise + label -> image."""
    model, train, data = recipe.model, recipe.train, recipe.data
    return CGAN(
        **recipe_kwargs(recipe),
        channels=data.out_channels,
        image_size=data.crop_size,
        classes=data.classes,  # resolved from the layout by the recipe
        latent_dim=model.latent_dim,
        embedding_dim=model.embedding_dim,
        conditioning=model.conditioning,
        lambda_cls=model.lambda_cls,
        seed=train.seed,
    )
