"""CUT and FastCUT: one-sided unpaired translation with a patchwise contrastive loss (Park, Efros, Zhang,
Zhu, "Contrastive Learning for Unpaired Image-to-Image Translation", ECCV 2020).

Names map to the paper as follows (X = domain a, Y = domain b)::

    generator     = G: X -> Y; its encoder G_enc is the generator's feature taps (i2i.nn.taps)
    discriminator = D judges Y images (real_b vs G(x))
    heads         = H_l: one 2-layer MLP per tapped layer l, L2-normalised outputs (256 wide)

G minimises the adversarial loss (least squares) plus ``lambda_nce`` times PatchNCE (eq. 5): at each
tapped layer ``l``, 256 locations are sampled; the query is ``H_l(G_enc^l(G(x)))`` at a location, its
positive ``H_l(G_enc^l(x))`` at the same location, its negatives the input's features at the other
sampled locations of the same image (eq. 2-3, averaged over layers). With ``nce_idt`` the same loss
between ``y`` and ``G(y)`` is added and both are halved (the identity term of eq. 5). The heads are
trained with G, in G's optimizer.

FastCUT (section 4 of the paper) is the same method with ``lambda_nce: 10``, ``nce_idt: false`` and
``flip_equivariance: true``: on a random half of the steps G translates the horizontally flipped input,
and the output's features are flipped back before the patches are compared with the input's, so
G(flip(x)) must equal flip(G(x)) at the feature level.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from pydantic import Field, field_validator
from torch import Tensor, nn

from i2i.card import ModelCard
from i2i.losses import generator_loss, patch_nce_loss
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
from i2i.nn import DISCRIMINATORS, GENERATORS, PatchProjection, feature_taps
from i2i.nn.taps import FeatureTaps, check_tap_names

__all__ = ["CUT", "cut"]

NCE_LAYERS: tuple[str, ...] = ("input", "down1", "down2", "block1", "block5")
"""The paper's layers (section 4): RGB pixels, the two downsampling convolutions, residual blocks 1 and 5."""
HEAD_CHANNELS = 256  # width of both layers of each MLP head (the paper's code: --netF_nc 256)


class CUTSection(MethodSection):
    """CUT's ``model:`` keys: PatchNCE weight, layers, patches and temperature; identity NCE; FastCUT's flip."""

    lambda_nce: float = Field(default=1.0, ge=0.0)  # 1 for CUT, 10 for FastCUT (paper, section 4)
    nce_idt: bool = True  # PatchNCE between y and G(y) too (CUT: on; FastCUT: off)
    nce_layers: tuple[str, ...] = NCE_LAYERS  # feature taps of the generator, by name
    # locations sampled per layer and image (paper: 256); each is a class of a softmax over all of them
    num_patches: int = Field(default=256, ge=2, le=4096)
    nce_temperature: float = Field(default=0.07, gt=0.0)  # tau of eq. 2
    flip_equivariance: bool = False  # FastCUT: translate the flipped input on half of the steps

    @field_validator("nce_layers")
    @classmethod
    def _distinct_layers(cls, layers: tuple[str, ...]) -> tuple[str, ...]:
        if not layers:
            raise ValueError("name at least one layer")
        if len(set(layers)) != len(layers):
            raise ValueError(f"a layer is named twice: {list(layers)}")
        return layers


class CUT(Method):
    """CUT: one generator ``generator``, one discriminator ``discriminator`` and the PatchNCE ``heads``.

    Args:
        generator: Registered generator name; it must have feature taps (``resnet_9blocks``).
        generator_kwargs: Its keyword arguments except the channel counts.
        discriminator: Registered discriminator name (``"patchgan"``).
        discriminator_kwargs: Its keyword arguments except ``in_channels``.
        in_channels: Channels of domain a images.
        out_channels: Channels of domain b images.
        gan_mode: A name in :data:`i2i.losses.GAN_MODES` (``"lsgan"`` in the paper).
        lambda_nce: Weight of PatchNCE (1 for CUT, 10 for FastCUT).
        nce_idt: Add PatchNCE between ``y`` and ``G(y)`` (needs ``in_channels == out_channels``).
        nce_layers: Generator taps PatchNCE compares (see :data:`NCE_LAYERS`).
        num_patches: Locations sampled per layer (256).
        nce_temperature: Softmax temperature (0.07).
        flip_equivariance: FastCUT's flip: translate the flipped input on a random half of the steps.
        lr: Adam learning rate of all networks.
        betas: Adam ``(beta1, beta2)``; ``(0.5, 0.999)`` in the paper.
        direction: The data direction the generator was trained on.
        lambda_gp: Gradient-penalty weight for ``gan_mode="wgangp"``.
        clip_value: WGAN weight clipping of the discriminator after each of its steps (None: off).
        n_critic: Discriminator steps per generator step.
        optimizer: ``"adam"`` or ``"rmsprop"`` (see :func:`~i2i.methods.base.create_optimizer`).

    Random numbers (the sampled locations, the flips) come from the global torch RNG, which the
    trainer checkpoints, so a resumed run continues exactly.
    """

    method_name = "cut"
    recipe_section = CUTSection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        "data": {"layout": "unaligned"},
        "model": {
            # the paper's code: resnet_9blocks, instance norm, no dropout, anti-aliased resampling,
            # xavier init with gain 0.02 (its --init_type default)
            "generator": {
                "name": "resnet_9blocks",
                "norm": "instance",
                "dropout": 0.0,
                "antialias": True,
                "init": "xavier",
            },
            "discriminator": {"norm": "instance", "init": "xavier"},
            "gan_mode": "lsgan",
        },
    }

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        model, data = recipe.model, recipe.data
        name = model.generator.name
        build = GENERATORS.get(name)
        kwargs = network_kwargs(build, {**model.generator.network_kwargs(), "base_channels": 1})
        with torch.device("meta"):  # no memory, no init cost
            network = build(**kwargs)
        try:
            taps = feature_taps(network, method=cls.method_name, name=name)
        except ValueError as error:
            raise ValueError(f"model.generator.name: {error}") from None
        try:
            check_tap_names(taps, model.nce_layers, name)
        except ValueError as error:
            raise ValueError(f"model.nce_layers: {error}") from None
        if model.nce_idt and data.in_channels != data.out_channels:
            raise ValueError(
                f"model.nce_idt: identity NCE runs G on domain b images, so it needs data.in_channels == "
                f"data.out_channels (got {data.in_channels} and {data.out_channels}); set it to false"
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
        lambda_nce: float = 1.0,
        nce_idt: bool = True,
        nce_layers: tuple[str, ...] = NCE_LAYERS,
        num_patches: int = 256,
        nce_temperature: float = 0.07,
        flip_equivariance: bool = False,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        direction: str = "a2b",
        lambda_gp: float = 10.0,
        clip_value: float | None = None,
        n_critic: int = 1,
        optimizer: str = "adam",
    ) -> None:
        super().__init__(gan_mode=gan_mode, lambda_gp=lambda_gp, clip_value=clip_value, n_critic=n_critic)
        if nce_idt and in_channels != out_channels:
            raise ValueError(
                f"identity NCE needs as many input as output channels (got {in_channels} and "
                f"{out_channels}); set model.nce_idt: false"
            )
        self.lambda_nce = lambda_nce
        self.nce_idt = nce_idt
        self.nce_layers = tuple(nce_layers)
        self.num_patches = num_patches
        self.nce_temperature = nce_temperature
        self.flip_equivariance = flip_equivariance
        self.direction = direction
        self.generator_arch = generator
        build_g, build_d = GENERATORS.get(generator), DISCRIMINATORS.get(discriminator)
        g_kwargs = dict(generator_kwargs or {})
        d_kwargs = dict(discriminator_kwargs or {})
        self.generator_kwargs = network_kwargs(
            build_g, {**g_kwargs, "in_channels": in_channels, "out_channels": out_channels}
        )
        self.generator = build_g(**self.generator_kwargs)  # G: X -> Y
        self.discriminator = build_d(**network_kwargs(build_d, {**d_kwargs, "in_channels": out_channels}))
        widths = self._taps().tap_channels(self.nce_layers)  # checks the layer names too
        init = {"init": g_kwargs.get("init", "normal"), "init_gain": g_kwargs.get("init_gain", 0.02)}
        self.heads = PatchProjection(widths, out_channels=HEAD_CHANNELS, **init)  # H_l, one per layer
        # The heads are trained with G: one optimizer over both (Adam is per parameter, so this equals
        # the paper code's separate optimizer with the same settings), one over D.
        self.build_optimizers(OptimizerSettings(optimizer, lr, betas))

    def _taps(self) -> FeatureTaps:
        return feature_taps(self.generator, method=self.method_name, name=self.generator_arch)

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "g": [*self.generator.parameters(), *self.heads.parameters()],
            "d": list(self.discriminator.parameters()),
        }

    def nce_loss(self, source: Tensor, target: Tensor, *, flipped: bool = False) -> Tensor:
        """PatchNCE between ``source`` (x) and its translation ``target`` (G(x)), averaged over layers,
        unweighted.

        Args:
            source: ``(B, C_a, H, W)`` input images in [-1, 1].
            target: ``(B, C_b, H, W)`` what G made of them (of their mirror image when ``flipped``).
            flipped: ``target`` is ``G(flip(source))``: its features are flipped back (FastCUT).
        """
        taps = self._taps()
        feat_q = taps.forward_taps(target, self.nce_layers)  # queries: G_enc(G(x)), per layer
        if flipped:
            feat_q = [f.flip(-1) for f in feat_q]
        with torch.no_grad():  # keys are constants of the loss (the paper detaches them)
            feat_k = taps.forward_taps(source, self.nce_layers)  # G_enc(x)
            key, locations = self.heads(feat_k, self.num_patches)
        query, _ = self.heads(feat_q, self.num_patches, locations)  # the same locations
        per_layer = [
            patch_nce_loss(q, k, temperature=self.nce_temperature) for q, k in zip(query, key, strict=True)
        ]
        return torch.stack(per_layer).mean()

    def training_step(self, batch: Batch) -> StepOutput:
        real_a, real_b = batch.a, batch.b  # x, y: (B, C_a, H, W), (B, C_b, H, W) in [-1, 1], unpaired
        n = real_a.shape[0]
        real = torch.cat([real_a, real_b]) if self.nce_idt else real_a  # one pass for G(x) and G(y)
        flipped = self.flip_equivariance and bool(torch.rand(()) < 0.5)  # FastCUT: half of the steps
        fake = self.generator(real.flip(-1) if flipped else real)
        fake_b = fake[:n]  # G(x) (of flip(x) when flipped)
        idt_b = fake[n:] if self.nce_idt else None  # G(y)

        # D: real y against detached G(x)
        loss_d = self.discriminator_loss(self.discriminator, real_b, fake_b.detach())
        self.step(self.optimizers["d"], loss_d["d"])
        self.clip_weights(self.discriminator)

        losses: dict[str, Tensor] = dict(loss_d)
        if self.generator_turn():  # G and the heads (1 step in n_critic): fool D, keep x's patches
            with frozen(self.discriminator):
                loss_gan = generator_loss(self.discriminator(fake_b), self.gan_mode)
                loss_nce = self.nce_loss(real_a, fake_b, flipped=flipped)
                losses |= {"g/gan": loss_gan, "g/nce": loss_nce}
                if idt_b is not None:
                    loss_nce_idt = self.nce_loss(real_b, idt_b, flipped=flipped)
                    loss_nce = 0.5 * (loss_nce + loss_nce_idt)
                    losses["g/nce_idt"] = loss_nce_idt
                loss_g = loss_gan + self.lambda_nce * loss_nce
                losses["g"] = loss_g
                self.step(self.optimizers["g"], loss_g)
        self.steps_done += 1

        images = {"real_a": real_a, "fake_b": fake_b.flip(-1) if flipped else fake_b, "real_b": real_b}
        if idt_b is not None:
            images["idt_b"] = idt_b.flip(-1) if flipped else idt_b
        return StepOutput(losses=losses, images=images).detached()

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        return [
            self.generator_card("generator", recipe=recipe, crop_size=crop_size, direction=self.direction)
        ]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        columns = {"real_a": batch.a, "fake_b": self.generator(batch.a), "real_b": batch.b}
        if self.nce_idt:
            columns["idt_b"] = self.generator(batch.b)
        return columns


@METHODS.register
def cut(*, recipe: Any) -> CUT:
    """CUT / FastCUT (Park et al. 2020): one ResNet generator, one PatchGAN, LSGAN + PatchNCE; unpaired data."""
    model, data = recipe.model, recipe.data
    return CUT(
        **recipe_kwargs(recipe),
        in_channels=data.in_channels,
        out_channels=data.out_channels,
        lambda_nce=model.lambda_nce,
        nce_idt=model.nce_idt,
        nce_layers=model.nce_layers,
        num_patches=model.num_patches,
        nce_temperature=model.nce_temperature,
        flip_equivariance=model.flip_equivariance,
        direction=data.direction,
    )
