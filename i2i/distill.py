"""The recipe of ``i2i distill TEACHER``: the bundled ``distill`` recipe with the teacher, the student
and the data filled in, as ``--set`` items (the method itself is :mod:`i2i.methods.distill`).

The data is the source side of the data the teacher was trained on (read from the recipe its weights
carry), or any folder of source-domain photos (layout ``single``): distillation needs no labels.
"""

from __future__ import annotations

import json
from pathlib import Path

from i2i.config.load import parse_recipe_yaml
from i2i.weights import read_model_cards, resolve_weights_file

__all__ = ["TEACHER_DATA_KEYS", "distill_overrides"]

TEACHER_DATA_KEYS: tuple[str, ...] = (
    "layout",
    "root",
    "direction",
    "in_channels",
    "out_channels",
    "synthetic_size",
    "synthetic_count",
)
"""What a distillation takes from the teacher's recipe: where its images are and which side is the
input; the geometry (load and crop size) stays the distillation recipe's."""


def distill_overrides(
    teacher: Path,
    *,
    student: str | None = None,
    data: Path | None = None,
    arch: str | None = None,
    direction: str | None = None,
) -> list[str]:
    """``--set`` items for the ``distill`` recipe.

    Args:
        teacher: Anything ``i2i export`` reads: a run dir, checkpoint, ``.safetensors`` or (with
            ``arch``) a reference ``.pth``.
        student: Registered generator name of the student (None: the recipe's).
        data: A folder of source-domain images (None: the teacher's own training data).
        arch: A reference ``.pth`` teacher's architecture.
        direction: Which generator of a two-generator teacher (None: the teacher's recipe's direction).

    Raises:
        ValueError: A teacher without a recipe (a reference ``.pth``) and no ``data``, naming the file.
    """
    teacher = teacher.expanduser().absolute()
    items = [f"model.teacher={_quoted(teacher)}"]
    if arch is not None:
        items.append(f"model.teacher_arch={arch}")
    if student is not None:
        items.append(f"model.generator.name={student}")
    if data is not None:
        items += ["data.layout=single", f"data.root={_quoted(data.expanduser().absolute())}"]
    else:
        items += [f"data.{key}={json.dumps(value)}" for key, value in _teacher_data(teacher, arch).items()]
    if direction is not None:
        items.append(f"data.direction={direction}")
    return items


def _teacher_data(teacher: Path, arch: str | None) -> dict[str, object]:
    """The :data:`TEACHER_DATA_KEYS` of the recipe stored with the teacher's weights."""
    if arch is not None or teacher.suffix in (".pth", ".pt"):
        raise ValueError(
            f"{teacher}: a reference .pth carries no recipe to read its data from; give --data DIR"
        )
    cards = read_model_cards(resolve_weights_file(teacher))
    recipe = next((card.recipe for card in cards if card.recipe), "")
    if not recipe:
        raise ValueError(f"{teacher}: its weights carry no recipe to read the data from; give --data DIR")
    section = parse_recipe_yaml(recipe, str(teacher)).get("data") or {}
    values = {key: section[key] for key in TEACHER_DATA_KEYS if key in section}
    if "root" in values:  # a relative root was relative to where the teacher was trained
        values["root"] = str(Path(str(values["root"])).expanduser().absolute())
    return values


def _quoted(path: Path) -> str:
    """A path as a YAML string (a ``--set`` value), so that no part of it is read as YAML syntax."""
    return json.dumps(str(path))
