"""The Method base class: a method's networks, its optimizers and one training step.

The method owns its step, the trainer owns the loop: :meth:`Method.training_step` runs the method's
forward passes, backward passes and optimizer steps for one batch and *returns* its losses and images.
Device placement, epochs, mixed precision, schedules, checkpoints and logging belong to the trainer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_type_hints

import torch
from torch import Tensor, nn

from i2i.losses import discriminator_loss, gradient_penalty
from i2i.losses._reduction import Predictions
from i2i.registry import Builder, Registry
from i2i.weights import GeneratorSpec

__all__ = [
    "METHODS",
    "OPTIMIZERS",
    "Batch",
    "Method",
    "StepOutput",
    "create_method",
    "create_optimizer",
    "frozen",
    "network_kwargs",
    "recipe_kwargs",
    "section_kwargs",
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


def network_kwargs(builder: Builder[nn.Module], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``kwargs`` that the network built by ``builder`` accepts (``None`` values dropped).

    A recipe holds one set of generator options for every architecture (``padding`` is a ResNet
    option, ``num_layers`` a PatchGAN option); each network takes the ones its constructor declares,
    read from the builder's return annotation. The result is what is stored in a
    :class:`~i2i.weights.GeneratorSpec`, so the network can be rebuilt exactly.
    """
    values = {k: v for k, v in kwargs.items() if v is not None}
    cls = get_type_hints(builder).get("return")
    if not isinstance(cls, type):
        return values
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return values
    return {k: v for k, v in values.items() if k in params}


class Method(nn.Module):
    """Base class of a training method (pix2pix, CycleGAN ...).

    Every child module is a network of the method, addressed by its attribute name (``generator``,
    ``g_ab`` ...); :meth:`networks` lists them and checkpoints prefix their tensors with that name.
    Subclasses create their networks and optimizers in ``__init__`` and implement
    :meth:`training_step`, :meth:`generator_specs` and :meth:`sample`.

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
        self.scaler: torch.amp.GradScaler | None = None

    def networks(self) -> dict[str, nn.Module]:
        """Network name -> network (the method's child modules)."""
        return dict(self.named_children())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def training_step(self, batch: Batch) -> StepOutput:
        """One optimisation step on ``batch``: forward, backward and optimizer steps; returns the losses."""
        raise NotImplementedError

    def generator_specs(self, *, recipe: str = "", crop_size: int | None = None) -> list[GeneratorSpec]:
        """Descriptions of the method's inference generators, keyed by their network name prefix."""
        raise NotImplementedError

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

        ``vanilla`` and ``lsgan`` are halved as in the reference implementation, slowing D relative to
        G; ``wgangp`` adds ``lambda_gp`` times the gradient penalty. Returns ``{"d": total, ...}`` with
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
        loss = discriminator_loss(pred_real, pred_fake, self.gan_mode)
        if self.gan_mode in ("vanilla", "lsgan"):
            loss = 0.5 * loss
        if self.gan_mode != "wgangp":
            return {"d": loss}
        penalty = gradient_penalty(discriminator, real, fake.detach())
        return {"d": loss + self.lambda_gp * penalty, "d/gp": penalty}


OPTIMIZERS: tuple[str, ...] = ("adam", "rmsprop")
"""Optimizers a recipe's ``train.optimizer`` may name."""


def create_optimizer(
    name: str, params: Iterable[nn.Parameter], *, lr: float, betas: tuple[float, float] = (0.5, 0.999)
) -> torch.optim.Optimizer:
    """``"adam"`` (with ``betas``) or ``"rmsprop"`` (WGAN's choice: momentum-free, ``betas`` unused).

    Example:
        >>> opt = create_optimizer("rmsprop", nn.Linear(2, 1).parameters(), lr=5e-5)
        >>> type(opt).__name__, opt.param_groups[0]["lr"]
        ('RMSprop', 5e-05)
    """
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})")


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
