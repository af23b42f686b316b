"""Reading recipes: YAML files or bundled names, ``--set key.path=value`` overrides, one-line errors.

Every problem is a :class:`RecipeError` whose message is one line, ``"FILE: key.path: what is wrong"``.
The resolved recipe (defaults filled in) is written back with :func:`recipe_to_yaml`.

A recipe may come from anyone, so reading it is bounded: the file is at most :data:`MAX_RECIPE_BYTES`,
and YAML aliases (``*name``, ``<<: *name``) may not make the document larger than
:data:`MAX_EXPANDED_SIZE` once expanded, which refuses a "billion laughs" alias bomb before anything
walks the expanded values (a 488-byte bomb used to take 6 GB and 35 s before failing).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from i2i.config.schema import Recipe, method_names, recipe_type

MAX_RECIPE_BYTES = 2**20
"""The largest recipe file read: 1 MiB, a thousand times the largest bundled recipe (about 1 KiB)."""
MAX_EXPANDED_SIZE = 2 * MAX_RECIPE_BYTES
"""The most a recipe may grow by expanding its YAML aliases, counted as nodes plus scalar characters
(never more than its expanded text): 2 MiB, so that every recipe within :data:`MAX_RECIPE_BYTES`
without aliases passes, and aliases can at most double it."""
MAX_YAML_DEPTH = 64
"""The deepest nesting of YAML collections (a recipe needs 4), kept well under Python's recursion
limit, which the YAML composer would otherwise hit with a traceback."""


class RecipeError(ValueError):
    """A recipe that cannot be read or is invalid; the message is one line naming the file and key."""


def recipes_dir() -> Path:
    """The bundled recipes: the package data folder ``i2i/recipes/``, which the wheel installs too.

    i2i is installed as plain files (never imported from a zip), so the resource is a real folder.
    """
    return Path(str(resources.files("i2i") / "recipes"))


def list_recipes() -> list[tuple[str, str]]:
    """``(name, description)`` of every bundled recipe, sorted by name (descriptions are not validated)."""
    folder = recipes_dir()
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = _safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, _TooLarge):
            raw = None
        description = raw.get("description", "") if isinstance(raw, dict) else ""
        entries.append((path.stem, str(description)))
    return entries


def find_recipe(path_or_name: str | Path) -> Path:
    """The recipe file for a path, or for a bundled recipe's name such as ``"facades"``."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    if path.suffix or len(path.parts) > 1:
        raise RecipeError(f"{path}: no such recipe file")
    bundled = recipes_dir() / f"{path}.yaml"
    if bundled.is_file():
        return bundled
    names = [name for name, _ in list_recipes()]
    close = difflib.get_close_matches(str(path), names, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise RecipeError(f"{path}: no such recipe file or bundled recipe{hint} (bundled: {', '.join(names)})")


def load_recipe(path_or_name: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read, override and validate a recipe.

    Args:
        path_or_name: A YAML file, or the name of a bundled recipe (``"facades"``).
        overrides: ``"key.path=value"`` items; values are parsed as YAML (``train.lr=1e-4``,
            ``data.flip=false``, ``data.max_images=null``). Unknown keys are rejected.

    Returns:
        The validated recipe, defaults filled in; ``name`` defaults to the file's stem.

    Raises:
        RecipeError: One line ``"FILE: key.path: message"`` for a missing file, bad YAML, an unknown or
            invalid key, a bad override, or a file or alias expansion over the size limits.
    """
    path = find_recipe(path_or_name)
    raw = parse_recipe_yaml(_read_text(path), str(path))
    raw.setdefault("name", path.stem)
    for item in overrides:
        _apply_override(raw, item, str(path))
    return validate_recipe(raw, str(path))


def validate_recipe(raw: dict[str, Any], source: str = "<recipe>") -> Recipe:
    """Validate a mapping (as read from YAML) into a recipe; ``source`` names it in errors."""
    method = raw.get("method") if isinstance(raw, dict) else None
    known = method_names()
    if method is None:
        raise RecipeError(f"{source}: method: required key missing (one of {', '.join(map(repr, known))})")
    if method not in known:
        close = difflib.get_close_matches(str(method), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RecipeError(f"{source}: method: unknown method {method!r}{hint} (known: {', '.join(known)})")
    try:
        return recipe_type(str(method)).model_validate(raw)
    except ValidationError as error:
        raise RecipeError(f"{source}: {_describe(error.errors()[0], raw)}") from None


def recipe_to_yaml(recipe: Recipe) -> str:
    """The resolved recipe as YAML; ``load_recipe`` of it gives an equal recipe."""
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _read_text(path: Path) -> str:
    """The text of a recipe file of at most :data:`MAX_RECIPE_BYTES` (more is never read)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_RECIPE_BYTES + 1)
        if len(data) > MAX_RECIPE_BYTES:
            raise RecipeError(
                f"{path}: file too large for a recipe ({path.stat().st_size:,} bytes; "
                f"the limit is {MAX_RECIPE_BYTES:,})"
            )
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"{path}: cannot read: {error}") from None


class _TooLarge(Exception):
    """A YAML document over a size bound; the message is the rest of one RecipeError line."""


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader that refuses documents that aliases expand past
    :data:`MAX_EXPANDED_SIZE`, recursive aliases, and nesting deeper than :data:`MAX_YAML_DEPTH`.

    While composing, each node's expanded size (1, plus its characters for a scalar, plus its
    children's expanded sizes, an alias counting the whole node it names) is known bottom-up, so a
    bomb is refused from its nodes alone, before construction or anything else expands it.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._expanded: dict[int, int] = {}  # id(node) -> expanded size, for completed nodes
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            named = self.anchors.get(event.anchor)
            if named is not None and id(named) not in self._expanded:
                line = event.start_mark.line + 1
                raise _TooLarge(
                    f"recursive YAML alias (line {line}: *{event.anchor} is inside &{event.anchor})"
                )
            return super().compose_node(parent, index)  # the named node, already counted
        line = self.peek_event().start_mark.line + 1
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise _TooLarge(f"YAML nested too deeply (line {line}: over {MAX_YAML_DEPTH} levels)")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        size = 1 + self._children_size(node)
        if size > MAX_EXPANDED_SIZE:
            raise _TooLarge(
                f"too many YAML aliases (line {line}: expanded, the recipe would be over "
                f"{MAX_EXPANDED_SIZE:,} nodes and characters)"
            )
        self._expanded[id(node)] = size
        return node

    def _children_size(self, node: yaml.Node | None) -> int:
        """The expanded size of a composed node's contents: a scalar's characters, or its children's
        expanded sizes (aliases and merge keys ``<<`` count the whole node they name)."""
        if isinstance(node, yaml.ScalarNode):
            return len(node.value)
        if isinstance(node, yaml.SequenceNode):
            return sum(self._expanded[id(item)] for item in node.value)
        if isinstance(node, yaml.MappingNode):
            return sum(self._expanded[id(key)] + self._expanded[id(value)] for key, value in node.value)
        return 0


def _safe_load(text: str) -> Any:
    """``yaml.safe_load`` within the size bounds; raises ``yaml.YAMLError`` or :class:`_TooLarge`."""
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_recipe_yaml(text: str, source: str) -> dict[str, Any]:
    """A recipe's YAML text as a mapping, within the size bounds; not validated against the schema.

    The one parser for recipe text from any source: files, ``--set`` values, and the recipes stored
    in weights headers and ONNX metadata (which may be crafted).

    Raises:
        RecipeError: One line naming ``source``: too large, invalid YAML, or not a mapping.
    """
    try:
        raw = _safe_load(text)
    except _TooLarge as error:
        raise RecipeError(f"{source}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise RecipeError(f"{source}: invalid YAML: {where}{problem}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{source}: expected a mapping of keys at the top level, got {type(raw).__name__}")
    return raw


def _apply_override(raw: dict[str, Any], item: str, source: str) -> None:
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise RecipeError(f"{source}: --set {item!r}: expected KEY.PATH=VALUE, e.g. train.lr=1e-4")
    try:
        value = _safe_load(text)
    except _TooLarge as error:
        raise RecipeError(f"{source}: {key}: --set value: {error}") from None
    except yaml.YAMLError:
        raise RecipeError(f"{source}: {key}: --set value {text!r} is not valid YAML") from None
    parts = key.split(".")
    _check_override_key(raw, parts, source)
    node = raw
    for index, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise RecipeError(f"{source}: {'.'.join(parts[: index + 1])}: is not a section, cannot set {key}")
        node = child
    node[parts[-1]] = value


def _check_override_key(raw: dict[str, Any], parts: list[str], source: str) -> None:
    """Reject an override key that is not in the schema of the recipe's method."""
    if raw.get("method") not in method_names():
        return  # unknown method: validation reports it
    recipe_class = recipe_type(str(raw["method"]))
    model: type[BaseModel] | None = recipe_class
    for index, part in enumerate(parts):
        path = ".".join(parts[: index + 1])
        if model is None:
            raise RecipeError(
                f"{source}: {'.'.join(parts[:index])}: is not a section, cannot set {'.'.join(parts)}"
            )
        if part not in model.model_fields:
            hint = _unknown_key_hint(parts[: index + 1], recipe_class)
            raise RecipeError(f"{source}: {path}: unknown key in --set{hint}")
        model = _section_model(model, part)


def _section_model(model: type[BaseModel], field: str) -> type[BaseModel] | None:
    """The model class of a nested section, or None for a plain value."""
    annotation = model.model_fields[field].annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name in model.model_fields:
        section = _section_model(model, name)
        if section is None:
            yield prefix + name
        else:
            yield from _leaf_paths(section, f"{prefix}{name}.")


def _describe(error: ErrorDetails, raw: dict[str, Any]) -> str:
    """One ``"key.path: message"`` line for a pydantic error."""
    loc = [str(part) for part in error["loc"]]
    method = raw.get("method")
    recipe_class = recipe_type(str(method)) if method in method_names() else None
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        hint = ""
        if recipe_class is not None:
            hint = _unknown_key_hint(loc, recipe_class)
        return f"{'.'.join(loc)}: unknown key{hint}"
    if kind == "missing":
        return f"{'.'.join(loc)}: required key missing"
    if kind in ("value_error", "assertion_error"):
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if not loc:
            return message  # recipe-level checks name their keys themselves
    else:
        got = repr(error["input"])
        got = got if len(got) <= 60 else got[:57] + "..."
        message = f"{message[0].lower()}{message[1:]}, got {got}"
    return f"{'.'.join(loc)}: {message}" if loc else message


def _unknown_key_hint(loc: list[str], recipe_type: type[BaseModel]) -> str:
    model: type[BaseModel] | None = recipe_type
    for part in loc[:-1]:
        model = _section_model(model, part) if model is not None and part in model.model_fields else None
    key = loc[-1]
    if model is not None:
        close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
        if close:
            return f" (did you mean {close[0]!r}?)"
    paths = list(_leaf_paths(recipe_type))
    leaves = {path.rsplit(".", 1)[-1]: path for path in paths}
    close = difflib.get_close_matches(key, list(leaves), n=1, cutoff=0.6)
    return f" (did you mean {leaves[close[0]]!r}?)" if close else ""


__all__ = [
    "RecipeError",
    "find_recipe",
    "list_recipes",
    "load_recipe",
    "parse_recipe_yaml",
    "recipe_to_yaml",
    "recipes_dir",
    "validate_recipe",
]
