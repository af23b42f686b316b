"""Reconstruction losses: L1 to a target (pix2pix), cycle consistency and identity (CycleGAN),
discriminator feature matching (pix2pixHD) and feature distillation (GAN Compression).

The weights (``lambda_l1``, ``lambda_cycle``, ``lambda_identity``) are applied by the methods.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from i2i.losses._reduction import Reduction, check_same_shape, reduce_loss


def l1_loss(input: Tensor, target: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Mean absolute error ``mean(|input - target|)``.

    Args:
        input: Predicted images, typically in [-1, 1].
        target: Target images, same shape as ``input``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (element-wise).

    Returns:
        A scalar >= 0 (at most 2 for images in [-1, 1] with ``"mean"``), or the element-wise loss.

    Raises:
        ValueError: When the shapes differ (no broadcasting, which would hide a bug).

    Shape:
        - input, target: :math:`(*)`, the same.
        - output: :math:`()`, or :math:`(*)` with ``reduction="none"``.

    Example:
        >>> l1_loss(torch.tensor([0.0, 1.0]), torch.tensor([0.5, -1.0]))  # (0.5 + 2) / 2
        tensor(1.2500)
    """
    check_same_shape(input, target, "l1_loss")
    return reduce_loss((input - target).abs(), reduction)


def cycle_loss(real: Tensor, reconstructed: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Cycle-consistency loss ``mean(|F(G(a)) - a|)`` between an image and its round trip (CycleGAN).

    Args:
        real: Real images ``real_a``, in [-1, 1].
        reconstructed: Their reconstructions ``rec_a = F(G(real_a))``, same shape.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        A scalar in [0, 2] for images in [-1, 1] with ``"mean"``, or the element-wise loss.

    Shape:
        - real, reconstructed: :math:`(B, C, H, W)` (any shape, the same).
        - output: :math:`()`, or the input shape with ``reduction="none"``.

    Example:
        >>> cycle_loss(torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5))
        tensor(0.5000)
    """
    check_same_shape(real, reconstructed, "cycle_loss")
    return reduce_loss((reconstructed - real).abs(), reduction)


def identity_loss(real: Tensor, mapped: Tensor, *, reduction: Reduction = "mean") -> Tensor:
    """Identity loss ``mean(|G(b) - b|)``: a generator into domain B should leave B images unchanged.

    CycleGAN uses it (weighted by ``lambda_identity`` times the cycle weight of the generated domain)
    to preserve colour composition.

    Args:
        real: Real images of the generator's output domain, ``real_b``, in [-1, 1].
        mapped: The generator applied to them, ``idt_b = G(real_b)``, same shape.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        A scalar in [0, 2] for images in [-1, 1] with ``"mean"``, or the element-wise loss.

    Shape:
        - real, mapped: :math:`(B, C, H, W)` (any shape, the same).
        - output: :math:`()`, or the input shape with ``reduction="none"``.

    Example:
        >>> identity_loss(torch.ones(1, 1, 2, 2), torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]]))
        tensor(0.2500)
    """
    check_same_shape(real, mapped, "identity_loss")
    return reduce_loss((mapped - real).abs(), reduction)


def feature_matching_loss(
    real_features: Sequence[Sequence[Tensor]], fake_features: Sequence[Sequence[Tensor]]
) -> Tensor:
    """Discriminator feature matching (pix2pixHD): mean over scales of the summed per-layer L1.

    ``loss = 1/S * sum_s sum_{l < L_s - 1} mean(|fake[s][l] - real[s][l].detach()|)``. The last entry
    of each scale (the logits) is excluded, and the real features are detached so that only the
    generator is pulled. pix2pixHD further weights each layer by ``4 / (num_layers + 1)`` and the sum
    by ``lambda_feat`` (10); such weights belong to the method.

    Args:
        real_features: Per scale, the discriminator's intermediate features on real samples followed
            by its logits (``MultiscaleDiscriminator.forward_features``).
        fake_features: The same on generated samples (not detached).

    Returns:
        A scalar >= 0.

    Raises:
        ValueError: When the number of scales or layers differ, a scale has no intermediate layer,
            or two features differ in shape.

    Shape:
        - real_features[s][l], fake_features[s][l]: :math:`(B, C_l, H_l, W_l)`, equal for real and fake.
        - output: :math:`()`.

    Example:
        >>> real = [[torch.zeros(1, 2), torch.ones(1, 2), torch.zeros(1, 1)]]  # 2 layers + logits
        >>> fake = [[torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 1)]]
        >>> feature_matching_loss(real, fake)  # |1 - 0| + |1 - 1|; logits ignored
        tensor(1.)
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(
            f"feature_matching_loss: expected the same non-zero number of scales, got "
            f"{len(real_features)} real and {len(fake_features)} fake"
        )
    per_scale = []
    for scale, (real_scale, fake_scale) in enumerate(zip(real_features, fake_features, strict=True)):
        if len(real_scale) != len(fake_scale) or len(real_scale) < 2:
            raise ValueError(
                f"feature_matching_loss: scale {scale}: expected the same number (>= 2: features and "
                f"logits) of layers, got {len(real_scale)} real and {len(fake_scale)} fake"
            )
        layers = []
        for index, (real, fake) in enumerate(zip(real_scale[:-1], fake_scale[:-1], strict=True)):  # no logits
            check_same_shape(real, fake, f"feature_matching_loss: scale {scale} layer {index}")
            layers.append(l1_loss(fake, real.detach()))
        per_scale.append(torch.stack(layers).sum())
    return torch.stack(per_scale).mean()


class L1Loss(nn.Module):
    """Module form of :func:`l1_loss`.

    Example:
        >>> L1Loss(reduction="sum")(torch.tensor([0.0, 1.0]), torch.tensor([0.5, -1.0]))
        tensor(2.5000)
    """

    def __init__(self, *, reduction: Reduction = "mean") -> None:
        super().__init__()
        self.reduction: Reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return l1_loss(input, target, reduction=self.reduction)


class CycleLoss(L1Loss):
    """Module form of :func:`cycle_loss`.

    Example:
        >>> CycleLoss()(torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5))
        tensor(0.5000)
    """

    def forward(self, real: Tensor, reconstructed: Tensor) -> Tensor:
        return cycle_loss(real, reconstructed, reduction=self.reduction)


class IdentityLoss(L1Loss):
    """Module form of :func:`identity_loss`.

    Example:
        >>> IdentityLoss()(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))
        tensor(1.)
    """

    def forward(self, real: Tensor, mapped: Tensor) -> Tensor:
        return identity_loss(real, mapped, reduction=self.reduction)


class FeatureMatchingLoss(nn.Module):
    """Module form of :func:`feature_matching_loss`.

    Example:
        >>> real = [[torch.zeros(1, 2), torch.zeros(1, 1)]]
        >>> FeatureMatchingLoss()(real, [[torch.ones(1, 2), torch.ones(1, 1)]])
        tensor(1.)
    """

    def forward(
        self, real_features: Sequence[Sequence[Tensor]], fake_features: Sequence[Sequence[Tensor]]
    ) -> Tensor:
        return feature_matching_loss(real_features, fake_features)


def feature_distillation_loss(
    student_features: Sequence[Tensor], teacher_features: Sequence[Tensor], *, names: Sequence[str] = ()
) -> Tensor:
    """Feature distillation (GAN Compression, Li et al. 2020): the sum over layers of the mean squared
    error between the student's features, mapped to the teacher's widths (:class:`~i2i.nn.ChannelMaps`),
    and the teacher's features, which are detached (the teacher is a constant).

    Args:
        student_features: One mapped student feature per layer (not detached).
        teacher_features: The teacher's feature at the same layers.
        names: Layer names, for the error message.

    Returns:
        A scalar >= 0; 0 for no layers.

    Raises:
        ValueError: When the numbers of layers differ, or a layer's two features differ in shape (a
            student and teacher that downsample differently), naming the layer.

    Shape:
        - student_features[l], teacher_features[l]: :math:`(B, C_l, H_l, W_l)`, equal.
        - output: :math:`()`.

    Example:
        >>> feature_distillation_loss([torch.ones(1, 2, 2, 2)], [torch.zeros(1, 2, 2, 2)])
        tensor(1.)
    """
    if len(student_features) != len(teacher_features):
        raise ValueError(
            f"feature_distillation_loss: {len(student_features)} student layers but "
            f"{len(teacher_features)} teacher layers"
        )
    total = torch.zeros(())
    for k, (student, teacher) in enumerate(zip(student_features, teacher_features, strict=True)):
        if student.shape != teacher.shape:
            name = names[k] if k < len(names) else f"#{k}"
            raise ValueError(
                f"feature distillation at layer {name}: the student's mapped feature is "
                f"{tuple(student.shape)}, the teacher's {tuple(teacher.shape)}"
            )
        total = total.to(student) + torch.mean((student - teacher.detach()) ** 2)
    return total
