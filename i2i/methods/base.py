"""The Method base class: a method's networks, its optimizers and one training step.

The method owns its step, the trainer owns the loop: :meth:`Method.training_step` runs the method's
forward passes, backward passes and optimizer steps for one batch and *returns* its losses and images.
Device placement, epochs, mixed precision, schedules, checkpoints and logging belong to the trainer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_type_hints

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor, nn

from i2i.card import ModelCard, describe_generator
from i2i.losses import discriminator_loss, gan_objective, gradient_penalty
from i2i.losses._reduction import Predictions
from i2i.registry import Builder, Registry

__all__ = [
    "ADAM_KERNELS",
    "METHODS",
    "OPTIMIZERS",
    "Batch",
    "Method",
    "MethodSection",
    "OptimizerSettings",
    "StepOutput",
    "check_labelled_recipe",
    "create_method",
    "create_optimizer",
    "frozen",
    "method_class",
    "network_kwargs",
    "recipe_kwargs",
    "section_kwargs",
    "split_network_kwargs",
]


@dataclass(frozen=True)
class Batch:
    """One training batch: images of domain A and domain B and where they came from.

    Attributes:
        a: ``(B, C_a, H, W)`` in [-1, 1]; the input domain (after the recipe's direction is applied).
        b: ``(B, C_b, H, W)`` in [-1, 1]; the target domain (paired with ``a`` for pix2pix).
        a_paths: Source file of each ``a`` image ("" for synthetic data).
        b_paths: Source file of each ``b`` image.
        labels: ``(B,)`` int64 class or domain index of each image, for labelled data (cgan, stargan),
            whose items hold one image: it is both ``a`` and ``b``.
    """

    a: Tensor
    b: Tensor
    a_paths: list[str] = field(default_factory=list)
    b_paths: list[str] = field(default_factory=list)
    labels: Tensor | None = None

    @classmethod
    def from_items(cls, items: Mapping[str, Any], device: torch.device | str = "cpu") -> Batch:
        """A batch from a collated dataset dict ``{"a", "b", "a_path", "b_path"}``, moved to ``device``."""
        return cls(
            a=items["a"].to(device, non_blocking=True),
            b=items["b"].to(device, non_blocking=True),
            a_paths=[str(p) for p in items.get("a_path", [])],
            b_paths=[str(p) for p in items.get("b_path", [])],
        )

    @classmethod
    def from_labelled_items(cls, items: Mapping[str, Any], device: torch.device | str = "cpu") -> Batch:
        """A batch from a collated labelled dict ``{"a", "label", "a_path"}`` (see :mod:`i2i.data.labelled`)."""
        images = items["a"].to(device, non_blocking=True)
        paths = [str(p) for p in items.get("a_path", [])]
        labels = torch.as_tensor(items["label"], dtype=torch.long).to(device, non_blocking=True)
        return cls(a=images, b=images, a_paths=paths, b_paths=paths, labels=labels)

    def __len__(self) -> int:
        return int(self.a.shape[0])


@dataclass
class StepOutput:
    """What one training step returns.

    Attributes:
        losses: Name -> scalar loss, detached (``"g/gan"``, ``"g/l1"``, ``"d"`` ...).
        images: Name -> ``(B, C, H, W)`` images in [-1, 1] produced by the step (``"fake_b"`` ...).
    """

    losses: dict[str, Tensor]
    images: dict[str, Tensor] = field(default_factory=dict)

    def detached(self) -> StepOutput:
        """The same output with every tensor detached from the autograd graph."""
        return StepOutput(
            losses={k: v.detach() for k, v in self.losses.items()},
            images={k: v.detach() for k, v in self.images.items()},
        )


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Turn off ``requires_grad`` of every parameter of ``modules``; restore the previous flags after.

    Used for the generator's step: gradients flow *through* the discriminator into the generator, but
    no gradient is accumulated in the discriminator's own parameters.
    """
    params = [p for m in modules for p in m.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before, strict=True):
            p.requires_grad_(flag)


def split_network_kwargs(
    builder: Builder[nn.Module], kwargs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(accepted, not_accepted)``: the entries of ``kwargs`` that the network built by ``builder``
    declares, and the others (``None`` values are dropped from both).

    The one rule of what a network takes: a recipe holds one set of options for every architecture
    (``padding`` is a ResNet option, ``num_layers`` a PatchGAN option, ``dropout`` a U-Net/ResNet
    option); each network takes the ones its constructor declares, read from the builder's return
    annotation. Methods keep the accepted ones (:func:`network_kwargs`); the recipe schema refuses a
    not-accepted option only when the recipe changed it from its default.
    """
    values = {k: v for k, v in kwargs.items() if v is not None}
    cls = get_type_hints(builder).get("return")
    if not isinstance(cls, type):
        return values, {}
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return values, {}
    accepted = {k: v for k, v in values.items() if k in params}
    return accepted, {k: v for k, v in values.items() if k not in params}


def network_kwargs(builder: Builder[nn.Module], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``kwargs`` that the network built by ``builder`` accepts (see
    :func:`split_network_kwargs`). The result is what is stored in a :class:`~i2i.card.ModelCard`, so
    the network can be rebuilt exactly."""
    return split_network_kwargs(builder, kwargs)[0]


class Method(nn.Module):
    """Base class of a training method (pix2pix, CycleGAN ...).

    Every child module is a network of the method, addressed by its attribute name (``generator``,
    ``g_ab`` ...); :meth:`networks` lists them and checkpoints prefix their tensors with that name.
    Subclasses create their networks and optimizers in ``__init__`` and implement
    :meth:`training_step`, :meth:`model_cards` and :meth:`sample`.

    Objectives (every method): :attr:`gan_mode` names the GAN loss; :attr:`n_critic` discriminator
    steps are made per generator step (one discriminator step per training step, the generator's on
    the last of every ``n_critic`` steps, as in StarGAN; see :meth:`generator_turn`); with
    :attr:`clip_value` every discriminator parameter is clamped to ``[-c, c]`` after each of its steps
    (WGAN, see :meth:`clip_weights`); ``wgangp`` adds :attr:`lambda_gp` times the gradient penalty.

    Mixed precision: the trainer runs :meth:`training_step` under ``torch.autocast`` and may set
    :attr:`scaler` (fp16); :meth:`step` runs the backward pass outside autocast, scales the loss and
    steps the optimizer through the scaler. The trainer calls ``scaler.update()`` once per step.
    """

    method_name: ClassVar[str] = ""
    generator_arch: str
    """Registered name of the method's generator(s), set by each constructor."""
    generator_names: ClassVar[tuple[str, ...]] = ("generator",)
    """The method's inference generators, by attribute name (their tensors are prefixed ``name.``)."""

    # The method's part of the recipe (read by i2i.config, which builds the recipe class from them):
    recipe_section: ClassVar[type[MethodSection]]
    """The ``model:`` keys of this method beyond the networks and the GAN objective (``lambda_l1`` ...)."""
    recipe_defaults: ClassVar[dict[str, Any]] = {}
    """Defaults of this method merged under the user's recipe (layout, networks, norms, objective ...)."""
    recipe_layouts: ClassVar[str | tuple[str, ...]] = "image"
    """The data layouts it trains on: ``"image"`` (any image-to-image layout, paired or not),
    ``"paired"`` (the paired ones), or the layout names."""

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        """Checks across recipe sections that only this method needs; raise ``ValueError("key: ...")``."""

    def __init__(
        self, *, gan_mode: str, lambda_gp: float = 10.0, clip_value: float | None = None, n_critic: int = 1
    ) -> None:
        super().__init__()
        if n_critic < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if clip_value is not None and clip_value <= 0:
            raise ValueError(f"clip_value must be positive (or None), got {clip_value}")
        self.gan_mode = gan_mode
        self.lambda_gp = lambda_gp
        self.clip_value = clip_value
        self.n_critic = n_critic
        self.steps_done = 0  # training steps made, for the n_critic rhythm (checkpointed)
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.optimizer_settings = OptimizerSettings()  # set by build_optimizers
        self.scaler: torch.amp.GradScaler | None = None

    def networks(self) -> dict[str, nn.Module]:
        """Network name -> network (the method's child modules)."""
        return dict(self.named_children())

    def generators(self) -> dict[str, nn.Module]:
        """Inference generator name -> network (a subset of :meth:`networks`)."""
        networks = self.networks()
        return {name: networks[name] for name in self.generator_names}

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """Optimizer name -> the parameters it updates (which networks share an optimizer)."""
        raise NotImplementedError

    def build_optimizers(self, settings: OptimizerSettings, kernel: str = "for_loop") -> None:
        """(Re)create :attr:`optimizers` from :meth:`optimizer_groups` with the Adam ``kernel``.

        Called by the constructor, and by the trainer with the kernel its device prefers, before the
        first step and before optimizer state is loaded (state is not carried over).
        """
        if any(optimizer.state for optimizer in self.optimizers.values()):
            raise RuntimeError("an optimizer has taken steps; choose the Adam kernel before training")
        self.optimizer_settings = settings
        self.optimizers = {
            name: settings.build(params, kernel) for name, params in self.optimizer_groups().items()
        }

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def training_step(self, batch: Batch) -> StepOutput:
        """One optimisation step on ``batch``: forward, backward and optimizer steps; returns the losses."""
        raise NotImplementedError

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        """Descriptions of the method's inference generators, keyed by their network name prefix."""
        raise NotImplementedError

    def generator_card(self, name: str, *, recipe: str, crop_size: int | None, **fields: Any) -> ModelCard:
        """The card of the generator network ``name`` (``"generator"``, ``"g_ab"`` ...): its architecture
        (``self.generator_arch``) and builder kwargs (``self.<name>_kwargs``), this method, the training
        crop and recipe, and key prefix ``"<name>."``; ``fields`` add or override (``direction``,
        ``domains``, ``arch`` ...). The one place a method's card is assembled."""
        values: dict[str, Any] = {
            "arch": self.generator_arch,
            "kwargs": getattr(self, f"{name}_kwargs"),
            "method": self.method_name,
            "crop_size": crop_size,
            "recipe": recipe,
            "key_prefix": f"{name}.",
        }
        return describe_generator(getattr(self, name), **(values | fields))

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        """Columns of a sample grid, in order (input | output | target ...), each ``(B, C, H, W)``."""
        raise NotImplementedError

    def batch_from_items(self, items: Mapping[str, Any], device: torch.device | str = "cpu") -> Batch:
        """The batch to train on from a collated dataset dict: images ``a`` and ``b`` by default;
        methods trained on labelled data use :meth:`Batch.from_labelled_items`."""
        return Batch.from_items(items, device)

    def extra_state(self) -> dict[str, Any]:
        """State beside weights and optimizers that a checkpoint must hold (image pools ...).

        Subclasses extend the base's dict (``{**super().extra_state(), ...}``).
        """
        return {"steps_done": self.steps_done}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""
        self.steps_done = int(state.get("steps_done", 0))  # absent in checkpoints older than n_critic

    def generator_turn(self) -> bool:
        """Whether the current step updates the generator: the last of every ``n_critic`` steps.

        A method calls it once in :meth:`training_step`, which ends with ``self.steps_done += 1``.
        """
        return (self.steps_done + 1) % self.n_critic == 0

    @torch.no_grad()
    def clip_weights(self, *discriminators: nn.Module) -> None:
        """Clamp every parameter of ``discriminators`` to ``[-clip_value, clip_value]`` (WGAN's
        Lipschitz constraint, applied after each critic step); nothing without :attr:`clip_value`."""
        if self.clip_value is None:
            return
        for module in discriminators:
            for p in module.parameters():
                p.clamp_(-self.clip_value, self.clip_value)

    def step(self, optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        """``zero_grad``, backward of ``loss`` (scaled under fp16) and one step of ``optimizer``."""
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):  # backward outside autocast
            if self.scaler is None:
                loss.backward()
                optimizer.step()
            else:
                self.scaler.scale(loss).backward()
                self.scaler.step(optimizer)

    def discriminator_loss(
        self, discriminator: Callable[[Tensor], Predictions], real: Tensor, fake: Tensor
    ) -> dict[str, Tensor]:
        """The discriminator's objective on real and (detached) fake inputs, by :attr:`gan_mode`.

        Scaled by the objective's ``discriminator_scale`` (``vanilla`` and ``lsgan`` are halved as in the
        reference implementation, slowing D relative to G); an objective with ``gradient_penalty``
        (``wgangp``) adds ``lambda_gp`` times the penalty. Returns ``{"d": total, ...}`` with
        the penalty listed separately (``"d/gp"``) when there is one. ``discriminator`` may be any
        callable (a conditional one bound to its labels: ``lambda x: d(x, labels)``).
        """
        fake = fake.detach()
        return self.adversarial_d_loss(discriminator(real), discriminator(fake), discriminator, real, fake)

    def adversarial_d_loss(
        self,
        pred_real: Predictions,
        pred_fake: Predictions,
        discriminator: Callable[[Tensor], Predictions],
        real: Tensor,
        fake: Tensor,
    ) -> dict[str, Tensor]:
        """:meth:`discriminator_loss` from predictions already made (by a network with more heads)."""
        objective = gan_objective(self.gan_mode)
        loss = objective.discriminator_scale * discriminator_loss(pred_real, pred_fake, self.gan_mode)
        if not objective.gradient_penalty:
            return {"d": loss}
        penalty = gradient_penalty(discriminator, real, fake.detach())
        return {"d": loss + self.lambda_gp * penalty, "d/gp": penalty}


class MethodSection(BaseModel):
    """Base of a method's own recipe keys (its ``recipe_section``): unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def check_labelled_recipe(recipe: Any, *, generators: Sequence[str], discriminators: Sequence[str]) -> None:
    """The checks of a method trained on labelled data (one image and its class per item): its
    networks, equal channels, and class names the layout can resolve (``recipe.data.classes``)."""
    if recipe.model.generator.name not in generators:
        raise ValueError(f"model.generator.name: {recipe.method} needs one of {', '.join(generators)}")
    if recipe.model.discriminator.name not in discriminators:
        raise ValueError(
            f"model.discriminator.name: {recipe.method} needs one of {', '.join(discriminators)}"
        )
    if recipe.data.in_channels != recipe.data.out_channels:
        raise ValueError(
            "data.out_channels: labelled data has one image per item; set data.in_channels to the same "
            f"(got {recipe.data.in_channels} and {recipe.data.out_channels})"
        )
    try:
        recipe.data.classes  # noqa: B018 - resolving them checks the layout's domains
    except ValueError as error:
        raise ValueError(f"data.domains: {error}") from None


def method_class(name: str) -> type[Method]:
    """The :class:`Method` subclass that the registered builder ``name`` returns (from its annotation).

    Raises:
        KeyError: An unknown method name (with close matches).
        TypeError: A builder without a ``Method`` return annotation.
    """
    builder = METHODS.get(name)
    cls = get_type_hints(builder).get("return")
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise TypeError(f"method builder {name!r} must be annotated to return its Method subclass")
    return cls


OPTIMIZERS: tuple[str, ...] = ("adam", "rmsprop")
"""Optimizers a recipe's ``train.optimizer`` may name."""


ADAM_KERNELS: dict[str, dict[str, bool]] = {
    "fused": {"fused": True, "foreach": False},
    "foreach": {"fused": False, "foreach": True},
    "for_loop": {"fused": False, "foreach": False},
}
"""Adam implementations (``train.adam``): one fused kernel, per-list kernels, or a Python loop."""


def create_optimizer(
    name: str,
    params: Iterable[nn.Parameter],
    *,
    lr: float,
    betas: tuple[float, float] = (0.5, 0.999),
    kernel: str = "for_loop",
) -> torch.optim.Optimizer:
    """``"adam"`` (with ``betas`` and an Adam ``kernel`` of :data:`ADAM_KERNELS`) or ``"rmsprop"``
    (WGAN's choice: momentum-free, ``betas`` and ``kernel`` unused).

    Example:
        >>> opt = create_optimizer("rmsprop", nn.Linear(2, 1).parameters(), lr=5e-5)
        >>> type(opt).__name__, opt.param_groups[0]["lr"]
        ('RMSprop', 5e-05)
    """
    if kernel not in ADAM_KERNELS:
        raise ValueError(f"unknown Adam kernel {kernel!r} (known: {', '.join(ADAM_KERNELS)})")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, **ADAM_KERNELS[kernel])
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})")


@dataclass(frozen=True)
class OptimizerSettings:
    """The optimizer of every network group of a method: its name, learning rate and Adam betas."""

    name: str = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def build(self, params: Iterable[nn.Parameter], kernel: str = "for_loop") -> torch.optim.Optimizer:
        return create_optimizer(self.name, params, lr=self.lr, betas=self.betas, kernel=kernel)


METHODS: Registry[Method] = Registry("method")
"""Training methods by the name a recipe's ``method`` field holds; builders take ``recipe=``."""


def section_kwargs(section: Any) -> dict[str, Any]:
    """A recipe's network section (pydantic model) as keyword arguments, its ``name`` removed."""
    values = section.model_dump() if hasattr(section, "model_dump") else dict(vars(section))
    values.pop("name", None)
    return values


def recipe_kwargs(recipe: Any) -> dict[str, Any]:
    """The constructor arguments every method takes from a recipe: its networks, GAN objective and optimizer."""
    model, train = recipe.model, recipe.train
    return {
        "generator": model.generator.name,
        "generator_kwargs": section_kwargs(model.generator),
        "discriminator": model.discriminator.name,
        "discriminator_kwargs": section_kwargs(model.discriminator),
        "gan_mode": model.gan_mode,
        "lr": train.lr,
        "betas": (train.beta1, train.beta2),
        "optimizer": train.optimizer,
        "lambda_gp": model.lambda_gp,
        "clip_value": model.clip_value,
        "n_critic": train.n_critic,
    }


def create_method(recipe: Any) -> Method:
    """Build the method that ``recipe.method`` names, with its networks and optimizers, on the CPU."""
    return METHODS.build(recipe.method, recipe=recipe)
