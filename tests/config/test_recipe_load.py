"""Loading recipes: bundled names, --set overrides, YAML errors, and every file in i2i/recipes/ validates."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

import i2i
from i2i.config import RecipeError, find_recipe, list_recipes, load_recipe, recipe_to_yaml, recipes_dir
from i2i.config.load import MAX_EXPANDED_SIZE, MAX_RECIPE_BYTES

BUNDLED = sorted(path.stem for path in recipes_dir().glob("*.yaml"))


def _write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_published_settings_are_bundled() -> None:
    published = {
        "horse2zebra",
        "apple2orange",
        "summer2winter_yosemite",
        "monet2photo",
        "vangogh2photo",
        "maps_cyclegan",
        "cityscapes_cyclegan",
        "facades",
        "maps_pix2pix",
        "maps_pix2pix_b2a",
        "edges2shoes",
        "cityscapes_pix2pix",
        "night2day",
        "demo_pix2pix",
        "demo_cyclegan",
    }
    assert published <= set(BUNDLED)


def test_bundled_recipes_are_package_data() -> None:
    # Beside the package (the repository root) they exist only in a source checkout, not in a wheel.
    assert recipes_dir() == Path(i2i.__file__).parent / "recipes"
    assert find_recipe("facades") == recipes_dir() / "facades.yaml"


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_recipe_validates_and_round_trips(name: str, tmp_path: Path) -> None:
    recipe = load_recipe(name)
    assert recipe.name == name  # from the file name
    assert recipe.description and "\n" not in recipe.description
    assert load_recipe(_write(tmp_path, recipe_to_yaml(recipe))) == recipe


def test_published_values_survive_loading() -> None:
    facades = load_recipe("facades")
    assert (facades.method, facades.data.direction, facades.model.lambda_l1) == ("pix2pix", "b2a", 100)
    shoes = load_recipe("edges2shoes")
    assert (shoes.train.batch_size, shoes.train.epochs + shoes.train.epochs_decay, shoes.data.flip) == (
        4,
        15,
        False,
    )
    maps = load_recipe("maps_cyclegan")
    assert maps.method == "cyclegan" and maps.model.lambda_identity == 0.0


def test_list_recipes_gives_names_and_descriptions() -> None:
    listed = dict(list_recipes())
    assert sorted(listed) == BUNDLED
    assert listed["facades"].startswith("pix2pix")


def test_unknown_name_suggests_bundled_recipes() -> None:
    with pytest.raises(
        RecipeError, match=r"^facade: no such recipe file or bundled recipe; did you mean 'facades'"
    ):
        find_recipe("facade")
    with pytest.raises(RecipeError, match=r"missing\.yaml: no such recipe file"):
        load_recipe("missing.yaml")


def test_overrides_are_nested_and_typed(tmp_path: Path) -> None:
    path = _write(tmp_path, "method: cyclegan\n")
    recipe = load_recipe(
        path,
        [
            "train.lr=1e-4",
            "data.flip=false",
            "model.generator.name=resnet_6blocks",
            "data.max_images=null",
            "train.max_steps=20",
        ],
    )
    assert recipe.train.lr == 1e-4 and recipe.data.flip is False
    assert recipe.model.generator.name == "resnet_6blocks"
    assert recipe.data.max_images is None and recipe.train.max_steps == 20
    assert recipe.name == "exp" and recipe.data.root == "datasets/exp"


def test_override_can_change_the_method_and_its_defaults(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, "method: cyclegan\n"), ["method=pix2pix"])
    assert recipe.method == "pix2pix" and recipe.model.generator.name == "unet_256"


def test_unknown_override_keys_are_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "method: pix2pix\n")
    with pytest.raises(
        RecipeError, match=r"exp\.yaml: train\.lrr: unknown key in --set \(did you mean 'lr'\?\)$"
    ):
        load_recipe(path, ["train.lrr=1"])
    with pytest.raises(RecipeError, match=r"exp\.yaml: train\.lr: is not a section"):
        load_recipe(path, ["train.lr.x=1"])
    with pytest.raises(RecipeError, match=r"expected KEY\.PATH=VALUE"):
        load_recipe(path, ["train.lr"])
    with pytest.raises(RecipeError, match=r"exp\.yaml: train\.batch_size: input should be a valid integer"):
        load_recipe(path, ["train.batch_size=two"])


def test_bad_yaml_gives_one_line_naming_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "method: pix2pix\ndata: [unclosed\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid YAML: line ") and "\n" not in message
    with pytest.raises(
        RecipeError, match=r"exp\.yaml: expected a mapping of keys at the top level, got list"
    ):
        load_recipe(_write(tmp_path, "- method\n"))


def _alias_bomb(levels: int = 9, fan_out: int = 10, merge: bool = False) -> str:
    """A "billion laughs" recipe: each level names the previous one ``fan_out`` times, so the last
    expands to ``fan_out ** levels`` values (10**9 by default) from a few hundred bytes."""
    lines = ["method: pix2pix", "l0: &l0 [lol]" if not merge else "l0: &l0 {lol: 1}"]
    for level in range(1, levels + 1):
        if merge:  # merge keys copy the named mappings' pairs: 10 pairs, 100, 1000 ...
            names = ", ".join(f"*l{level - 1}" for _ in range(fan_out))
            lines.append(f"l{level}: &l{level} {{<<: [{names}], k{level}: 1}}")
        else:
            lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fan_out)}]")
    return "\n".join(lines) + "\n"


def _refused_quickly(path: Path, overrides: list[str] | None = None) -> str:
    """The one-line error of loading ``path``, checked to come within 2 s and 20 MB."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(RecipeError) as info:
            load_recipe(path, overrides or [])
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 2.0 and peak < 20 * 2**20, (seconds, peak)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


@pytest.mark.parametrize("merge", [False, True], ids=["aliases", "merge_keys"])
def test_an_alias_bomb_is_refused_fast_and_small(tmp_path: Path, merge: bool) -> None:
    text = _alias_bomb(merge=merge)
    assert len(text) < 1000  # expands to 10**9 values
    message = _refused_quickly(_write(tmp_path, text))
    assert "too many YAML aliases" in message and f"{MAX_EXPANDED_SIZE:,}" in message


def test_an_alias_bomb_in_a_set_value_is_refused(tmp_path: Path) -> None:
    lines = _alias_bomb().splitlines()[1:]  # without "method: pix2pix"
    value = "{" + ", ".join(lines) + "}"  # the same bomb as one flow mapping
    message = _refused_quickly(_write(tmp_path, "method: pix2pix\n"), [f"data.domains={value}"])
    assert ": data.domains: --set value: too many YAML aliases" in message


def test_recursive_aliases_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    message = _refused_quickly(_write(tmp_path, "method: pix2pix\nloop: &a [*a]\n"))
    assert message.endswith("recursive YAML alias (line 2: *a is inside &a)")
    path = _write(tmp_path, "method: pix2pix\nx: " + "[" * 1000 + "\n")  # yaml.safe_load: RecursionError
    with pytest.raises(RecipeError, match=r"exp\.yaml: YAML nested too deeply \(line 2: over 64 levels\)$"):
        load_recipe(path)


def test_a_recipe_with_a_few_anchors_and_aliases_loads(tmp_path: Path) -> None:
    text = (
        "method: cyclegan\n"
        "model:\n"
        "  generator: &net {base_channels: 32, norm: instance}\n"
        "  discriminator: {<<: *net, num_layers: 4}\n"
        "data:\n"
        "  load_size: &size 128\n"
        "  crop_size: *size\n"
    )
    recipe = load_recipe(_write(tmp_path, text))
    assert recipe.model.generator.base_channels == recipe.model.discriminator.base_channels == 32
    assert (recipe.model.discriminator.num_layers, recipe.data.crop_size) == (4, 128)


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    text = "method: pix2pix\n" + "# padding\n" * (MAX_RECIPE_BYTES // 10)
    path = _write(tmp_path, text)
    assert path.stat().st_size > MAX_RECIPE_BYTES
    message = _refused_quickly(path)
    assert message == f"{path}: file too large for a recipe ({len(text):,} bytes; the limit is 1,048,576)"
    path.write_text(text[:MAX_RECIPE_BYTES], encoding="utf-8")  # at the limit: read as usual
    assert load_recipe(path).method == "pix2pix"


def test_path_values_expand_the_home_folder() -> None:
    """``--set data.root=~/x`` reaches no shell, so the recipe expands ``~`` itself."""
    recipe = load_recipe("demo_pix2pix", ["data.root=~/x", "train.inception_weights=~/w.pth"])
    assert recipe.data.root == str(Path.home() / "x")
    assert recipe.train.inception_weights == str(Path.home() / "w.pth")
    assert load_recipe("demo_pix2pix", ["data.root=data/~x"]).data.root == "data/~x"
