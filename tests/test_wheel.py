"""The wheel is what users install: it must hold everything the package reads at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_holds_the_package_and_the_bundled_recipes(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    shutil.copytree(ROOT / "i2i", source / "i2i", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", "dist", "."],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = (source / "dist").glob("i2i-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    recipes = sorted(path.name for path in (ROOT / "i2i" / "recipes").glob("*.yaml"))
    assert len(recipes) >= 20
    assert {f"i2i/recipes/{name}" for name in recipes} <= names
    assert {"i2i/__init__.py", "i2i/cli.py", "i2i/config/load.py"} <= names
    assert not [name for name in names if name.startswith(("recipes/", "tests/"))]
