"""Distillation: train a small generator (the student) to reproduce a trained one (the teacher), as in
GAN Compression (Li, Lin, Ding, Liu, Zhu, Han, "GAN Compression: Efficient Architectures for
Interactive Conditional GANs", CVPR 2020).

Names map to the paper as follows::

    teacher       = G': the trained generator, frozen and in eval mode (never checkpointed: it is read
                    from ``model.teacher`` whenever the run starts or resumes)
    generator     = G: the student (``mobile_resnet_9blocks``, a narrower ResNet ...)
    maps          = f_t: one learned 1x1 convolution per distilled layer, student width -> teacher width
    discriminator = D: a PatchGAN judging output-domain images

G minimises ``lambda_recon * |G(x) - G'(x)|_1`` (reconstruction of the teacher's output)
``+ lambda_feature * sum_t |f_t(G_t(x)) - G'_t(x)|^2`` (feature distillation at the tapped layers,
:mod:`i2i.nn.taps`) ``+ lambda_gan * L_GAN(D(G(x)))``. D sees real target-domain images (``b``) as real
when the data has them (``adversarial_real: target``), else the teacher's outputs (``teacher``), and
G(x) as fake. The maps are trained with G, in G's optimizer. The data is source-domain images: the
teacher's own data or any folder of photos (``data.layout: single``); no labels are needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import Tensor, nn

from i2i.card import ModelCard
from i2i.losses import feature_distillation_loss, generator_loss
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
from i2i.nn import DISCRIMINATORS, GENERATORS, ChannelMaps, feature_taps

__all__ = ["FEATURE_LAYERS", "Distill", "distill"]

FEATURE_LAYERS: tuple[str, ...] = ("down2", "block3", "block6", "block9")
"""Distilled layers of a 9-block ResNet. GAN Compression taps the encoder's output (after the second
downsampling's norm and ReLU) and residual blocks 3, 6 and 9 (its ``mapping_layers`` model.9/12/15/18);
``down2`` is i2i's tap of that downsampling (before its norm)."""

AdversarialReal = Literal["auto", "target", "teacher"]


class DistillSection(MethodSection):
    """Distillation's ``model:`` keys: the teacher, the loss weights and the distilled layers."""

    # the teacher: a run dir, checkpoint dir, .safetensors or (with teacher_arch) a reference .pth; its
    # generator for data.direction. Empty here only so that a recipe file validates without one.
    teacher: str = ""
    teacher_arch: str | None = None  # reference .pth only: its --netG
    lambda_recon: float = Field(default=10.0, ge=0.0)  # L1 to the teacher's output
    lambda_feature: float = Field(default=0.01, ge=0.0)  # feature MSE after the 1x1 maps (0: off)
    lambda_gan: float = Field(default=1.0, ge=0.0)
    feature_layers: tuple[str, ...] = FEATURE_LAYERS  # the teacher's taps
    # the student's taps at the same depth (None: the same names)
    student_layers: tuple[str, ...] | None = None
    # what D takes as real; auto: target images if the data has them
    adversarial_real: AdversarialReal = "auto"

    @field_validator("feature_layers")
    @classmethod
    def _distinct_layers(cls, layers: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(layers)) != len(layers):
            raise ValueError(f"a layer is named twice: {list(layers)}")
        return layers


class Distill(Method):
    """Distillation: a frozen ``teacher``, the student ``generator``, ``maps`` and a ``discriminator``.

    Args:
        teacher_network: The trained generator (put in eval mode, its parameters frozen).
        teacher_card: Its model card (channels, arch), as :func:`i2i.export.load_source` returns it.
        teacher_source: Where it was read from, recorded in the student's card.
        generator: Registered name of the student.
        generator_kwargs: Its keyword arguments except the channel counts (taken from the teacher).
        discriminator: Registered discriminator name (``"patchgan"``).
        discriminator_kwargs: Its keyword arguments except ``in_channels``.
        gan_mode: A name in :data:`i2i.losses.GAN_MODES` (``"lsgan"`` as GAN Compression's CycleGAN).
        lambda_recon: Weight of the L1 between student and teacher outputs.
        lambda_feature: Weight of the feature distillation (0 turns it and the maps off).
        lambda_gan: Weight of the student's adversarial loss.
        feature_layers: The teacher's taps to distil.
        student_layers: The student's taps matched to them (default: the same names).
        discriminator_real: ``"target"`` (D's real images are the batch's ``b``) or ``"teacher"`` (the
            teacher's outputs); the recipe's ``adversarial_real``, with ``auto`` resolved from the data.
        lr: Adam learning rate of all networks.
        betas: Adam ``(beta1, beta2)``.
        direction: The data direction (the teacher's generator for it was loaded).
        lambda_gp: Gradient-penalty weight for ``gan_mode="wgangp"``.
        clip_value: WGAN weight clipping of D (None: off).
        n_critic: D steps per G step.
        optimizer: ``"adam"`` or ``"rmsprop"``.
    """

    method_name = "distill"
    recipe_section = DistillSection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        "data": {"layout": "unaligned"},
        "model": {
            # GAN Compression's CycleGAN student: the mobile generator, instance norm, no dropout
            "generator": {"name": "mobile_resnet_9blocks", "norm": "instance", "dropout": 0.0},
            "discriminator": {"norm": "instance"},
            "gan_mode": "lsgan",
        },
    }
    recipe_layouts = "source"

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        if recipe.model.adversarial_real == "target" and not recipe.data.has_targets:
            raise ValueError(
                f"model.adversarial_real: layout {recipe.data.layout!r} has no target images; "
                "use 'teacher' (or 'auto')"
            )

    def __init__(
        self,
        *,
        teacher_network: nn.Module,
        teacher_card: ModelCard,
        teacher_source: str = "",
        generator: str = "mobile_resnet_9blocks",
        generator_kwargs: Mapping[str, Any] | None = None,
        discriminator: str = "patchgan",
        discriminator_kwargs: Mapping[str, Any] | None = None,
        gan_mode: str = "lsgan",
        lambda_recon: float = 10.0,
        lambda_feature: float = 0.01,
        lambda_gan: float = 1.0,
        feature_layers: tuple[str, ...] = FEATURE_LAYERS,
        student_layers: tuple[str, ...] | None = None,
        discriminator_real: str = "teacher",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        direction: str = "a2b",
        lambda_gp: float = 10.0,
        clip_value: float | None = None,
        n_critic: int = 1,
        optimizer: str = "adam",
    ) -> None:
        super().__init__(gan_mode=gan_mode, lambda_gp=lambda_gp, clip_value=clip_value, n_critic=n_critic)
        if discriminator_real not in ("target", "teacher"):
            raise ValueError(f"discriminator_real must be 'target' or 'teacher', got {discriminator_real!r}")
        self.lambda_recon = lambda_recon
        self.lambda_feature = lambda_feature
        self.lambda_gan = lambda_gan
        self.discriminator_real = discriminator_real
        self.direction = direction
        self.teacher_card = teacher_card
        self.teacher_summary = {
            "arch": teacher_card.arch,
            "kwargs": dict(teacher_card.kwargs),
            "method": teacher_card.method,
            "source": teacher_source,
        }
        self.teacher = teacher_network.eval().requires_grad_(False)  # G', a constant
        in_channels, out_channels = teacher_card.in_channels, teacher_card.out_channels
        self.generator_arch = generator
        build_g, build_d = GENERATORS.get(generator), DISCRIMINATORS.get(discriminator)
        self.generator_kwargs = network_kwargs(
            build_g, {**(generator_kwargs or {}), "in_channels": in_channels, "out_channels": out_channels}
        )
        self.generator = build_g(**self.generator_kwargs)  # G, the student
        d_kwargs = {**(discriminator_kwargs or {}), "in_channels": out_channels}
        self.discriminator = build_d(**network_kwargs(build_d, d_kwargs))
        self.feature_layers = tuple(feature_layers) if lambda_feature > 0 else ()
        self.student_layers = tuple(student_layers or feature_layers) if lambda_feature > 0 else ()
        if len(self.student_layers) != len(self.feature_layers):
            raise ValueError(
                f"model.student_layers: {len(self.student_layers)} layers for the teacher's "
                f"{len(self.feature_layers)} ({', '.join(self.feature_layers)})"
            )
        widths_t = self._tap_channels(self.teacher, teacher_card.arch, self.feature_layers, "feature_layers")
        widths_s = self._tap_channels(self.generator, generator, self.student_layers, "student_layers")
        init = {k: v for k, v in (generator_kwargs or {}).items() if k in ("init", "init_gain")}
        self.maps = ChannelMaps(widths_s, widths_t, **init)  # f_t, one per layer
        # The maps are trained with G: one optimizer over both, one over D.
        self.build_optimizers(OptimizerSettings(optimizer, lr, betas))

    def _tap_channels(self, network: nn.Module, name: str, layers: tuple[str, ...], key: str) -> list[int]:
        """Channels of ``network``'s taps ``layers`` (none when feature distillation is off); a
        one-line error naming the recipe key for a network without taps or an unknown layer."""
        if not layers:
            return []
        try:
            return feature_taps(network, method=self.method_name, name=name).tap_channels(layers)
        except ValueError as error:
            raise ValueError(f"model.{key}: {error} (or set model.lambda_feature: 0)") from None

    def networks(self) -> dict[str, nn.Module]:
        """The trained networks: the teacher is a constant, read from its file, never checkpointed."""
        return {name: m for name, m in self.named_children() if name != "teacher"}

    def train(self, mode: bool = True) -> Distill:
        """Train or eval mode for the trained networks; the teacher always runs in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "g": [*self.generator.parameters(), *self.maps.parameters()],
            "d": list(self.discriminator.parameters()),
        }

    def batch_from_items(self, items: Mapping[str, Any], device: torch.device | str = "cpu") -> Batch:
        """Items with a target image as usual; source images alone (``single``) fill ``b`` with ``a``,
        which is never read (D's real images are then the teacher's outputs)."""
        if "b" in items:
            return Batch.from_items(items, device)
        return Batch.from_items({**items, "b": items["a"], "b_path": items.get("a_path", [])}, device)

    def _teacher(self, real_a: Tensor) -> tuple[Tensor, list[Tensor]]:
        """G'(x) and its features at :attr:`feature_layers`, without gradients."""
        with torch.no_grad():
            if not self.feature_layers:
                return self.teacher(real_a), []
            taps = feature_taps(self.teacher, method=self.method_name, name=self.teacher_card.arch)
            return taps.forward_with_taps(real_a, self.feature_layers)

    def _student(self, real_a: Tensor) -> tuple[Tensor, list[Tensor]]:
        """G(x) and its mapped features f_t(G_t(x)) at :attr:`student_layers`."""
        if not self.feature_layers:
            return self.generator(real_a), []
        taps = feature_taps(self.generator, method=self.method_name, name=self.generator_arch)
        if taps is self.generator:  # one pass for the output and the features
            fake_b, features = taps.forward_with_taps(real_a, self.student_layers)
        else:  # wrapped by DDP: the output through the wrapper, which synchronises the gradients
            fake_b, features = self.generator(real_a), taps.forward_taps(real_a, self.student_layers)
        return fake_b, self.maps(features)

    def training_step(self, batch: Batch) -> StepOutput:
        real_a = batch.a  # x: (B, C_a, H, W) in [-1, 1], source-domain images
        teacher_b, teacher_features = self._teacher(real_a)  # G'(x) and G'_t(x)
        fake_b, student_features = self._student(real_a)  # G(x) and f_t(G_t(x))
        real_b = batch.b if self.discriminator_real == "target" else teacher_b

        # D: real (target images or the teacher's outputs) against detached G(x)
        loss_d = self.discriminator_loss(self.discriminator, real_b, fake_b.detach())
        self.step(self.optimizers["d"], loss_d["d"])
        self.clip_weights(self.discriminator)

        losses: dict[str, Tensor] = dict(loss_d)
        if self.generator_turn():  # G and the maps: fool D, match the teacher's output and features
            with frozen(self.discriminator):
                loss_gan = generator_loss(self.discriminator(fake_b), self.gan_mode)
                loss_recon = F.l1_loss(fake_b, teacher_b)
                loss_feature = feature_distillation_loss(
                    student_features, teacher_features, names=self.feature_layers
                )
                loss_g = (
                    self.lambda_gan * loss_gan
                    + self.lambda_recon * loss_recon
                    + self.lambda_feature * loss_feature
                )
                losses |= {"g/gan": loss_gan, "g/recon": loss_recon, "g/feature": loss_feature, "g": loss_g}
                self.step(self.optimizers["g"], loss_g)
        self.steps_done += 1
        images = {"real_a": real_a, "teacher_b": teacher_b, "fake_b": fake_b}
        return StepOutput(losses=losses, images=images).detached()

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        card = self.generator_card(
            "generator",
            recipe=recipe,
            crop_size=crop_size,
            direction=self.direction,
            teacher=self.teacher_summary,
        )
        return [card]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        """Columns input | teacher | student | difference (``|student - teacher| - 1``: black where they
        agree, white where they are 2 apart)."""
        teacher_b, student_b = self.teacher(batch.a), self.generator(batch.a)
        return {
            "real_a": batch.a,
            "teacher": teacher_b,
            "student": student_b,
            "difference": (student_b - teacher_b).abs() - 1,
        }


@METHODS.register
def distill(*, recipe: Any) -> Distill:
    """Distillation (GAN Compression, Li et al. 2020): a small student learns a trained teacher's
    outputs and features; L1 + feature MSE + LSGAN; source-domain images only."""
    from i2i.export import load_source  # the loading door of `i2i export`: run dir, weights, reference .pth

    model, data = recipe.model, recipe.data
    if not model.teacher:
        raise ValueError(
            "model.teacher: name the generator to distil (a run dir, checkpoint, .safetensors or reference "
            ".pth), e.g. `i2i distill TEACHER` or --set model.teacher=PATH"
        )
    try:
        teacher, card = load_source(
            Path(model.teacher),
            direction=data.direction,
            arch=model.teacher_arch,
            in_channels=data.in_channels,
            out_channels=data.out_channels,
        )
    except ValueError as error:
        raise ValueError(f"model.teacher: {error}") from None
    if not card.translates_images or card.in_channels != data.in_channels:
        raise ValueError(
            f"model.teacher: {model.teacher} reads {card.in_channels}-channel {card.input_kind} input; "
            f"the data gives {data.in_channels}-channel images (data.in_channels)"
        )
    real = model.adversarial_real
    if real == "auto":
        real = "target" if data.has_targets else "teacher"
    kwargs = recipe_kwargs(recipe)
    return Distill(
        **kwargs,
        teacher_network=teacher,
        teacher_card=card,
        teacher_source=str(model.teacher),
        lambda_recon=model.lambda_recon,
        lambda_feature=model.lambda_feature,
        lambda_gan=model.lambda_gan,
        feature_layers=model.feature_layers,
        student_layers=model.student_layers,
        discriminator_real=real,
        direction=data.direction,
    )
