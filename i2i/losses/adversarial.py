"""Adversarial objectives (vanilla, lsgan, wgan, wgangp, hinge) and the WGAN-GP gradient penalty.

Every objective works on raw discriminator outputs (logits, no sigmoid in the network) and accepts one
Tensor or a list of Tensors, one per scale of a multi-scale discriminator; a list is averaged over
scales. Each objective is three per-scale terms, registered in :data:`GAN_MODES` by name:

==========  ===============================================  =========================
mode        discriminator: term(real) + term(fake)            generator: term(fake)
==========  ===============================================  =========================
vanilla     BCE(real, 1) + BCE(fake, 0)                        BCE(fake, 1)
lsgan       mean((real - 1)^2) + mean(fake^2)                  mean((fake - 1)^2)
wgan        -mean(real) + mean(fake)                           -mean(fake)
wgangp      -mean(real) + mean(fake)  (+ gradient_penalty)     -mean(fake)
hinge       mean(relu(1 - real)) + mean(relu(1 + fake))        -mean(fake)
==========  ===============================================  =========================

``BCE`` is binary cross-entropy with logits; the vanilla generator term is the non-saturating form.
The discriminator loss has no factor 0.5: the methods apply the reference implementation's 0.5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from i2i.losses._reduction import Predictions, as_scales, check_same_shape, mean_over_scales
from i2i.registry import Registry

Term = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class GanObjective:
    """The per-scale terms of one GAN objective, each mapping logits of any shape to a scalar, and
    what the rest of i2i needs to know about it (read by name nowhere else: a new objective works
    everywhere once it is registered with the right flags).

    Attributes:
        real: Discriminator term for predictions on real samples.
        fake: Discriminator term for predictions on generated samples.
        generator: Generator term for predictions on generated samples.
        discriminator_scale: Factor on the discriminator loss (the reference halves the vanilla and
            least-squares losses, slowing D relative to G).
        gradient_penalty: The method adds ``lambda_gp`` times :func:`gradient_penalty` to D's loss.
        needs_lipschitz: The critic must be Lipschitz by other means (weight clipping or spectral
            norm); a recipe without either is refused.
        compilable: Whether the discriminator can be compiled: a gradient penalty's double backward
            is not supported by compiled graphs.
    """

    real: Term
    fake: Term
    generator: Term
    discriminator_scale: float = 1.0
    gradient_penalty: bool = False
    needs_lipschitz: bool = False
    compilable: bool = True


GAN_MODES: Registry[GanObjective] = Registry("GAN objective")
"""GAN objectives by name; ``GAN_MODES.build(mode)`` gives a :class:`GanObjective`."""


def _bce_real(logits: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def _bce_fake(logits: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def _squared_real(logits: Tensor) -> Tensor:
    return (logits - 1).square().mean()


def _squared_fake(logits: Tensor) -> Tensor:
    return logits.square().mean()


def _negative_mean(logits: Tensor) -> Tensor:
    return -logits.mean()


def _mean(logits: Tensor) -> Tensor:
    return logits.mean()


def _hinge_real(logits: Tensor) -> Tensor:
    return F.relu(1 - logits).mean()


def _hinge_fake(logits: Tensor) -> Tensor:
    return F.relu(1 + logits).mean()


@GAN_MODES.register
def vanilla() -> GanObjective:
    """Binary cross-entropy on logits, non-saturating generator loss (Goodfellow et al. 2014; pix2pix)."""
    return GanObjective(real=_bce_real, fake=_bce_fake, generator=_bce_real, discriminator_scale=0.5)


@GAN_MODES.register
def lsgan() -> GanObjective:
    """Least-squares GAN: squared distance to targets 1 and 0 (Mao et al. 2017; CycleGAN)."""
    return GanObjective(
        real=_squared_real, fake=_squared_fake, generator=_squared_real, discriminator_scale=0.5
    )


@GAN_MODES.register
def wgan() -> GanObjective:
    """Wasserstein critic loss mean(fake) - mean(real) (Arjovsky et al. 2017; needs a Lipschitz critic)."""
    return GanObjective(real=_negative_mean, fake=_mean, generator=_negative_mean, needs_lipschitz=True)


@GAN_MODES.register
def wgangp() -> GanObjective:
    """Wasserstein loss used with gradient_penalty (Gulrajani et al. 2017); the method adds the penalty."""
    return GanObjective(
        real=_negative_mean, fake=_mean, generator=_negative_mean, gradient_penalty=True, compilable=False
    )


@GAN_MODES.register
def hinge() -> GanObjective:
    """Hinge loss relu(1 - real) + relu(1 + fake), generator -mean(fake) (Lim & Ye 2017; SAGAN)."""
    return GanObjective(real=_hinge_real, fake=_hinge_fake, generator=_negative_mean)


def gan_objective(mode: str) -> GanObjective:
    """The registered objective ``mode``; an unknown name raises ``ValueError`` with close matches.

    Example:
        >>> gan_objective("wgangp").gradient_penalty, gan_objective("lsgan").discriminator_scale
        (True, 0.5)
    """
    try:
        return GAN_MODES.build(mode)
    except KeyError as error:
        raise ValueError(error.args[0]) from None


def gan_loss(
    logits: Predictions, target_is_real: bool, mode: str = "lsgan", *, for_discriminator: bool = True
) -> Tensor:
    """Adversarial loss on raw discriminator outputs, averaged over scales.

    For the discriminator (``for_discriminator=True``) this is the real term or the fake term of
    ``mode`` (see the module table); for the generator it is the generator term, which only exists
    with ``target_is_real=True`` (the generator wants its samples judged real).

    Args:
        logits: Discriminator outputs, any shape, any real value; or a list of them, one per scale.
        target_is_real: Whether the samples behind ``logits`` should be judged real.
        mode: A name in :data:`GAN_MODES`.
        for_discriminator: Use the discriminator's terms (True) or the generator's term (False).

    Returns:
        A scalar Tensor, >= 0 for vanilla, lsgan and the hinge discriminator terms, any sign otherwise.

    Raises:
        ValueError: For an unknown ``mode`` (with close matches), or a generator loss with
            ``target_is_real=False``.

    Shape:
        - logits: :math:`(*)`, or a list of :math:`(*)` with any shape per scale.
        - output: :math:`()`.

    Example:
        >>> logits = torch.tensor([0.0, 2.0])
        >>> gan_loss(logits, True, "lsgan")  # ((0 - 1)^2 + (2 - 1)^2) / 2
        tensor(1.)
        >>> gan_loss([logits, torch.tensor([4.0])], False, "wgan")  # (mean(0, 2) + 4) / 2
        tensor(2.5000)
    """
    objective = gan_objective(mode)
    if for_discriminator:
        term = objective.real if target_is_real else objective.fake
    elif target_is_real:
        term = objective.generator
    else:
        raise ValueError("the generator loss is defined for target_is_real=True only")
    return mean_over_scales(term, logits)


def discriminator_loss(pred_real: Predictions, pred_fake: Predictions, mode: str = "lsgan") -> Tensor:
    """Discriminator loss ``term_real(pred_real) + term_fake(pred_fake)``, each averaged over scales.

    There is no factor 0.5: the pix2pix/CycleGAN reference halves the vanilla and lsgan discriminator
    loss, and the methods apply that factor themselves.

    Args:
        pred_real: Discriminator logits on real samples (Tensor or list per scale).
        pred_fake: Discriminator logits on generated samples, usually from detached fakes.
        mode: A name in :data:`GAN_MODES`.

    Returns:
        A scalar Tensor.

    Shape:
        - pred_real, pred_fake: :math:`(*)` or lists of :math:`(*)`; the two need not match.
        - output: :math:`()`.

    Example:
        >>> discriminator_loss(torch.tensor([0.5]), torch.tensor([-2.0]), "hinge")  # relu(0.5) + relu(-1)
        tensor(0.5000)
    """
    objective = gan_objective(mode)
    return mean_over_scales(objective.real, pred_real) + mean_over_scales(objective.fake, pred_fake)


def generator_loss(pred_fake: Predictions, mode: str = "lsgan") -> Tensor:
    """Generator loss ``term_generator(pred_fake)`` averaged over scales.

    Args:
        pred_fake: Discriminator logits on generated samples, not detached (Tensor or list per scale).
        mode: A name in :data:`GAN_MODES`.

    Returns:
        A scalar Tensor.

    Shape:
        - pred_fake: :math:`(*)` or a list of :math:`(*)`.
        - output: :math:`()`.

    Example:
        >>> generator_loss(torch.tensor([1.0, 3.0]), "hinge")  # -mean(1, 3)
        tensor(-2.)
    """
    return mean_over_scales(gan_objective(mode).generator, pred_fake)


class GANLoss(nn.Module):
    """Module form of :func:`gan_loss`, with :meth:`discriminator` and :meth:`generator` helpers.

    Args:
        mode: A name in :data:`GAN_MODES`; checked here, so a typo fails at construction.

    Example:
        >>> criterion = GANLoss("vanilla")
        >>> criterion(torch.tensor([0.0]), True)  # log(2)
        tensor(0.6931)
    """

    def __init__(self, mode: str = "lsgan") -> None:
        super().__init__()
        gan_objective(mode)
        self.mode = mode

    def forward(self, logits: Predictions, target_is_real: bool, for_discriminator: bool = True) -> Tensor:
        return gan_loss(logits, target_is_real, self.mode, for_discriminator=for_discriminator)

    def discriminator(self, pred_real: Predictions, pred_fake: Predictions) -> Tensor:
        """:func:`discriminator_loss` with this module's mode."""
        return discriminator_loss(pred_real, pred_fake, self.mode)

    def generator(self, pred_fake: Predictions) -> Tensor:
        """:func:`generator_loss` with this module's mode."""
        return generator_loss(pred_fake, self.mode)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def gradient_penalty(
    discriminator: Callable[[Tensor], Predictions],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP gradient penalty ``mean((||grad_x D(x_hat)||_2 - 1)^2)`` (Gulrajani et al. 2017).

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U(0, 1)`` per sample; the gradient of
    the summed outputs of each sample is taken over all of its pixels and channels. A multi-scale
    discriminator's outputs are penalised per scale and averaged. The graph is kept
    (``create_graph=True``) so the penalty can be backpropagated into the discriminator; ``real`` and
    ``fake`` are detached. Multiply by the usual weight (10) in the method.

    Args:
        discriminator: Maps :math:`(B, C, H, W)` to logits, or to a list of logits per scale.
        real: Real samples, typically in [-1, 1].
        fake: Generated samples, same shape as ``real``.
        generator: Random generator for ``eps`` (the global one when None).

    Returns:
        A scalar Tensor >= 0.

    Shape:
        - real, fake: :math:`(B, *)`.
        - output: :math:`()`.

    Example:
        >>> w = torch.tensor([3.0, 4.0])
        >>> critic = lambda x: (x * w).sum(dim=1)  # linear critic: gradient w, norm 5
        >>> gradient_penalty(critic, torch.zeros(2, 2), torch.ones(2, 2))  # (5 - 1)^2
        tensor(16.)
    """
    check_same_shape(real, fake, "gradient_penalty")
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)  # (B, 1, 1, 1)
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scales = as_scales(discriminator(x_hat), "discriminator output")
    total = real.new_zeros(())
    for output in scales:
        (grad,) = torch.autograd.grad(
            outputs=output,
            inputs=x_hat,
            grad_outputs=torch.ones_like(output),
            create_graph=True,
            retain_graph=True,
        )
        norm = torch.linalg.vector_norm(grad.flatten(1), ord=2, dim=1)  # (B,)
        total = total + (norm - 1).square().mean()
    return total / len(scales)


class GradientPenalty(nn.Module):
    """Module form of :func:`gradient_penalty`.

    Example:
        >>> critic = lambda x: x.sum(dim=1)  # gradient (1, 1, 1, 1), norm 2
        >>> GradientPenalty()(critic, torch.zeros(1, 4), torch.ones(1, 4))  # (2 - 1)^2
        tensor(1.)
    """

    def forward(
        self,
        discriminator: Callable[[Tensor], Predictions],
        real: Tensor,
        fake: Tensor,
        *,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        return gradient_penalty(discriminator, real, fake, generator=generator)
