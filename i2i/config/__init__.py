"""Recipes: a typed, validated description of one training run (method, data, model, train).

``load_recipe("facades", ["train.lr=1e-4"])`` reads a bundled or local YAML recipe, applies overrides
and validates it; every error is a one-line :class:`RecipeError` naming the file and the key.
"""

from __future__ import annotations

from i2i.config.load import (
    RecipeError,
    find_recipe,
    list_recipes,
    load_recipe,
    recipe_to_yaml,
    recipes_dir,
    validate_recipe,
)
from i2i.config.schema import (
    DataConfig,
    DiscriminatorConfig,
    GeneratorConfig,
    ModelBase,
    Recipe,
    RecipeBase,
    TrainConfig,
    method_names,
    recipe_type,
)

__all__ = [
    "DataConfig",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "ModelBase",
    "Recipe",
    "RecipeBase",
    "RecipeError",
    "TrainConfig",
    "find_recipe",
    "list_recipes",
    "load_recipe",
    "method_names",
    "recipe_to_yaml",
    "recipe_type",
    "recipes_dir",
    "validate_recipe",
]
