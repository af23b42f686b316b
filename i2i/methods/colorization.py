"""Colorization: pix2pix from Lab lightness to colour (the reference's ``--model colorization``; Isola et
al. 2017, figure 9).

The data are any colour photos (layout ``colorization``, :mod:`i2i.data.colorization`): ``a`` is the
lightness ``L / 50 - 1``, ``b`` the colour ``(a, b) / 110``. pix2pix's objective is unchanged: the
discriminator judges ``(L, ab)`` pairs, the generator minimises GAN + ``lambda_l1`` times the L1 distance
of the colours. The generator network maps 1 channel to 2; what is saved, exported and translated wraps
it in :class:`~i2i.nn.generators.colorize.ColorizationGenerator` (arch ``colorize``), so users give an
RGB (or gray) photo and get an RGB photo with the same lightness.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from i2i.card import ModelCard
from i2i.methods.base import METHODS, Batch, recipe_kwargs
from i2i.methods.pix2pix import Pix2Pix, Pix2PixSection
from i2i.nn.color import lab_to_rgb_image
from i2i.nn.generators.colorize import ColorizationGenerator

__all__ = ["Colorization", "colorization"]


class Colorization(Pix2Pix):
    """pix2pix on (``L``, ``ab``) pairs; ``generator`` is the RGB -> RGB wrapper of the ``L -> ab`` network.

    Args:
        lambda_l1: Weight of the L1 term on the colours (100, as pix2pix).
        **kwargs: :class:`~i2i.methods.pix2pix.Pix2Pix`'s arguments but the channels (1 -> 2).
    """

    method_name = "colorization"
    recipe_section = Pix2PixSection
    recipe_defaults: ClassVar[dict[str, Any]] = {
        **Pix2Pix.recipe_defaults,
        "data": {"layout": "colorization"},
    }
    recipe_layouts: ClassVar[str | tuple[str, ...]] = ("colorization", "synthetic_colorization")

    @classmethod
    def check_recipe(cls, recipe: Any) -> None:
        data = recipe.data
        if (data.in_channels, data.out_channels) != (3, 3):
            raise ValueError(
                "data.in_channels: colorization reads RGB photos and gives RGB photos; keep in_channels and "
                "out_channels 3 (the network inside maps L to ab)"
            )
        if data.direction != "a2b":
            raise ValueError("data.direction: colorization goes from lightness to colour (a2b) only")
        if data.color_jitter > 0:
            raise ValueError("data.color_jitter: would change the colours the model learns; set it to 0")

    def __init__(self, *, lambda_l1: float = 100.0, **kwargs: Any) -> None:
        super().__init__(**{**kwargs, "lambda_l1": lambda_l1, "in_channels": 1, "out_channels": 2})
        self.generator = ColorizationGenerator(self.generator)  # same parameters: the optimizers stay

    def translate(self, real_a: Tensor) -> Tensor:
        colorizer = self.generator
        assert isinstance(colorizer, ColorizationGenerator)
        return colorizer.net(real_a)  # (B, 1, H, W) L -> (B, 2, H, W) ab

    def model_cards(self, *, recipe: str = "", crop_size: int | None = None) -> list[ModelCard]:
        kwargs = {**self.generator_kwargs, "net": self.generator_arch, "in_channels": 3, "out_channels": 3}
        return [
            self.generator_card(
                "generator",
                recipe=recipe,
                crop_size=crop_size,
                arch="colorize",
                kwargs=kwargs,
                direction="a2b",
            )
        ]

    @torch.no_grad()
    def sample(self, batch: Batch) -> dict[str, Tensor]:
        light = batch.a
        return {
            "input": lab_to_rgb_image(light, torch.zeros_like(batch.b)),  # the gray photo
            "output": lab_to_rgb_image(light, self.translate(light)),
            "target": lab_to_rgb_image(light, batch.b),
        }


@METHODS.register
def colorization(*, recipe: Any) -> Colorization:
    """Colorization (reference --model colorization): pix2pix from Lab lightness to colour; any colour photos."""
    return Colorization(**recipe_kwargs(recipe), lambda_l1=recipe.model.lambda_l1)
