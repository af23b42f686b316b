"""The Method base class: a method's networks, its optimizers and one training step.

The method owns its step, the trainer owns the loop: :meth:`Method.training_step` runs the method's
forward passes, backward passes and optimizer steps for one batch and *returns* its losses and images.
Device placement, epochs, mixed precision, schedules, checkpoints and logging belong to the trainer.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, get_type_hints

import torch
from torch import Tensor, nn

from i2i.losses import discriminator_loss, gradient_penalty
from i2i.registry import Builder, Registry
from i2i.weights import GeneratorSpec

__all__ = [
    "METHODS",
    "Batch",
    "Method",
    "StepOutput",
    "create_method",
    "frozen",
    "network_kwargs",
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
    """

    a: Tensor
    b: Tensor
    a_paths: list[str] = field(default_factory=list)
    b_paths: list[str] = field(default_factory=list)

    @classmethod
    def from_items(cls, items: Mapping[str, Any], device: torch.device | str = "cpu") -> Batch:
        """A batch from a collated dataset dict ``{"a", "b", "a_path", "b_path"}``, moved to ``device``."""
        return cls(
            a=items["a"].to(device, non_blocking=True),
            b=items["b"].to(device, non_blocking=True),
            a_paths=[str(p) for p in items.get("a_path", [])],
            b_paths=[str(p) for p in items.get("b_path", [])],
        )

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

    Mixed precision: the trainer runs :meth:`training_step` under ``torch.autocast`` and may set
    :attr:`scaler` (fp16); :meth:`step` runs the backward pass outside autocast, scales the loss and
    steps the optimizer through the scaler. The trainer calls ``scaler.update()`` once per step.
    """

    method_name: ClassVar[str] = ""

    def __init__(self, *, gan_mode: str, lambda_gp: float = 10.0) -> None:
        super().__init__()
        self.gan_mode = gan_mode
        self.lambda_gp = lambda_gp
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

    def extra_state(self) -> dict[str, Any]:
        """State beside weights and optimizers that a checkpoint must hold (image pools ...)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

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

    def discriminator_loss(self, discriminator: nn.Module, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """The discriminator's objective on real and (detached) fake inputs, by :attr:`gan_mode`.

        ``vanilla`` and ``lsgan`` are halved as in the reference implementation, slowing D relative to
        G; ``wgangp`` adds ``lambda_gp`` times the gradient penalty. Returns ``{"d": total, ...}`` with
        the penalty listed separately (``"d/gp"``) when there is one.
        """
        fake = fake.detach()
        loss = discriminator_loss(discriminator(real), discriminator(fake), self.gan_mode)
        if self.gan_mode in ("vanilla", "lsgan"):
            loss = 0.5 * loss
        if self.gan_mode != "wgangp":
            return {"d": loss}
        penalty = gradient_penalty(discriminator, real, fake)
        return {"d": loss + self.lambda_gp * penalty, "d/gp": penalty}


METHODS: Registry[Method] = Registry("method")
"""Training methods by the name a recipe's ``method`` field holds; builders take ``recipe=``."""


def section_kwargs(section: Any) -> dict[str, Any]:
    """A recipe's network section (pydantic model) as keyword arguments, its ``name`` removed."""
    values = section.model_dump() if hasattr(section, "model_dump") else dict(vars(section))
    values.pop("name", None)
    return values


def create_method(recipe: Any) -> Method:
    """Build the method that ``recipe.method`` names, with its networks and optimizers, on the CPU."""
    return METHODS.build(recipe.method, recipe=recipe)
