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


def _run_ci(
    tmp_path: Path, pytest_status: int = 0, wheel_status: int = 0
) -> subprocess.CompletedProcess[str]:
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    _stub(tmp_path / ".ci", "check_wheel", f"exit {wheel_status}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pip", "chromium", "ruff", "mypy"):
        _stub(bin_dir, tool)
    _stub(bin_dir, "python", f'[ "$1 $2" = "-m pytest" ] && exit {pytest_status}; exit 0')
    return subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")],
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("pytest_status", "ci_status"), [(0, 0), (1, 1), (5, 5)])
def test_ci_status_follows_pytest_and_no_tests_collected_fails(
    tmp_path: Path, pytest_status: int, ci_status: int
) -> None:
    result = _run_ci(tmp_path, pytest_status=pytest_status)
    assert result.returncode == ci_status, result.stdout + result.stderr
    assert ("CI passed" in result.stdout) == (ci_status == 0)
    if pytest_status == 5:
        assert "collected no tests" in result.stderr


def test_ci_fails_when_the_installed_wheel_does_not_work(tmp_path: Path) -> None:
    result = _run_ci(tmp_path, wheel_status=1)  # .ci/check_wheel: build, install in a venv, run
    assert result.returncode == 1 and "CI passed" not in result.stdout
