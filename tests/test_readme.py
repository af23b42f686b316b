"""The README's Quickstart is what CI runs: keep the two in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_quickstart_has_exactly_two_commands() -> None:
    commands = _quickstart_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert "i2i demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = _quickstart_commands()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith(test_command) for line in ci_lines)


def test_the_python_snippet_defines_every_name_it_uses() -> None:
    """The Python API example once used an ``image`` it never made."""
    import ast
    import builtins

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.+?)\n```", section, flags=re.S)
    defined = set(dir(builtins))
    for node in ast.parse(code).body:  # statement by statement: a name must exist before its use
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert used <= defined, f"{ast.unparse(node)!r} uses {sorted(used - defined)} before defining them"
        defined |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
    assert "i2i.read_image(" in code


def test_read_image_gives_what_translator_expects(tmp_path: Path) -> None:
    """``i2i.read_image``: uint8 (H, W, 3) in RGB order, even for a file OpenCV writes as BGR."""
    import cv2
    import numpy as np

    import i2i

    bgr = np.zeros((4, 6, 3), np.uint8)
    bgr[..., 2] = 255  # red, in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    image = i2i.read_image(tmp_path / "red.png")
    assert image.dtype == np.uint8 and image.shape == (4, 6, 3)
    assert image[0, 0].tolist() == [255, 0, 0]
