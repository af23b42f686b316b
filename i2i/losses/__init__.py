"""Losses for image-to-image GANs: adversarial objectives by name, gradient penalty, reconstruction,
the patchwise contrastive loss (CUT).

Every loss is a function plus a thin ``nn.Module`` twin; predictions may be one Tensor or a list of
Tensors (one per discriminator scale), averaged over scales.
"""

from __future__ import annotations

from i2i.losses.adversarial import (
    GAN_MODES,
    GANLoss,
    GanObjective,
    GradientPenalty,
    discriminator_loss,
    gan_loss,
    gan_objective,
    generator_loss,
    gradient_penalty,
)
from i2i.losses.contrastive import PatchNCELoss, patch_nce_loss
from i2i.losses.reconstruction import (
    CycleLoss,
    FeatureMatchingLoss,
    IdentityLoss,
    L1Loss,
    cycle_loss,
    feature_distillation_loss,
    feature_matching_loss,
    identity_loss,
    l1_loss,
)

__all__ = [
    "GAN_MODES",
    "CycleLoss",
    "FeatureMatchingLoss",
    "GANLoss",
    "GanObjective",
    "GradientPenalty",
    "IdentityLoss",
    "L1Loss",
    "PatchNCELoss",
    "cycle_loss",
    "discriminator_loss",
    "feature_distillation_loss",
    "feature_matching_loss",
    "gan_loss",
    "gan_objective",
    "generator_loss",
    "gradient_penalty",
    "identity_loss",
    "l1_loss",
    "patch_nce_loss",
]
