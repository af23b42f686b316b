"""``.ci/run`` passes only when the tests ran and passed, with every tool it calls replaced by a stub."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _stub(folder: Path, name: str, body: str = "exit 0") -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


@pytest.mark.parametrize(("pytest_status", "ci_status"), [(0, 0), (1, 1), (5, 5)])
def test_ci_status_follows_pytest_and_no_tests_collected_fails(
    tmp_path: Path, pytest_status: int, ci_status: int
) -> None:
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    _stub(tmp_path / ".ci", "check_wheel")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pip", "chromium", "ruff", "mypy"):
        _stub(bin_dir, tool)
    _stub(bin_dir, "python", f'[ "$1 $2" = "-m pytest" ] && exit {pytest_status}; exit 0')
    result = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")],
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == ci_status, result.stdout + result.stderr
    assert ("CI passed" in result.stdout) == (ci_status == 0)
    if pytest_status == 5:
        assert "collected no tests" in result.stderr
