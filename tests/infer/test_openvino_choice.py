"""Choosing the OpenVINO precision from the CPU, and the one-line errors; none of it needs OpenVINO."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.infer.openvino import CpuFeatures, cpu_features, resolve_precision

AMX = CpuFeatures("Xeon", frozenset({"avx512f", "amx_bf16", "amx_int8", "avx512_bf16"}), 2)
EPYC = CpuFeatures("EPYC", frozenset({"avx2", "avx512f", "avx512_vnni"}), 2)
OLD = CpuFeatures("old", frozenset({"avx2"}), 2)


def test_cpuinfo_flags_and_model_name_are_read(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile\n"
        "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n"
    )
    features = cpu_features(info)
    assert features.model == "Intel(R) Xeon(R)"  # the first processor's
    assert features.flags == {"avx2", "avx512f", "avx512_bf16"}  # only flags that matter for inference
    assert features.native_bf16 and not features.native_int8
    assert cpu_features(tmp_path / "missing").flags == frozenset()  # not Linux: nothing assumed


@pytest.mark.parametrize(
    ("asked", "model", "cpu", "chosen"),
    [
        ("auto", "fp32", AMX, "bf16"),
        ("auto", "fp32", EPYC, "fp32"),  # AVX-512 with VNNI but no bf16 arithmetic
        ("auto", "fp32", OLD, "fp32"),
        ("auto", "int8", OLD, "int8"),
        ("int8", "int8", AMX, "int8"),
        ("fp32", "fp32", AMX, "fp32"),
        ("bf16", "fp32", AMX, "bf16"),
    ],
)
def test_precision_is_chosen_by_the_cpu_and_the_model(
    asked: str, model: str, cpu: CpuFeatures, chosen: str
) -> None:
    assert resolve_precision(asked, model, cpu) == chosen


@pytest.mark.parametrize(
    ("asked", "model", "cpu", "message"),
    [
        ("bf16", "fp32", EPYC, "needs a CPU with AVX512-BF16 or AMX"),
        ("int8", "fp32", AMX, "needs an int8 model: i2i export SOURCE --format openvino --precision int8"),
        ("fp16", "fp32", AMX, "unknown precision 'fp16' for OpenVINO"),
        ("fp32", "int8", AMX, "is an int8 model"),
        ("auto", "fp16", AMX, "not fp16"),
    ],
)
def test_unsupported_precision_is_one_line_naming_the_model(
    asked: str, model: str, cpu: CpuFeatures, message: str
) -> None:
    with pytest.raises(ValueError, match=r"m\.onnx: ") as error:
        resolve_precision(asked, model, cpu, "m.onnx")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_missing_openvino_is_one_line_with_the_extra_to_install(
    tmp_path: Path, onnx_model: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_openvino(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "openvino" or name.startswith("openvino."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    monkeypatch.delitem(__import__("sys").modules, "openvino", raising=False)
    result = _translate_empty_folder(tmp_path, onnx_model[1], "--backend", "openvino")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: the OpenVINO backend needs openvino, which is not installed: pip install i2i[openvino]"
    ]


def test_unknown_backend_is_a_one_line_usage_error(tmp_path: Path, onnx_model: tuple[Path, Path]) -> None:
    result = _translate_empty_folder(tmp_path, onnx_model[1], "--backend", "tvm")
    assert result.exit_code == 2
    assert (
        result.output.strip() == "error: unknown backend 'tvm' (known: auto, onnxruntime, openvino, pytorch)"
    )


def _translate_empty_folder(tmp_path: Path, model: Path, *options: str) -> Any:
    """``i2i translate`` of an empty folder with ``model`` and ``options`` (the CLI's result)."""
    (tmp_path / "in").mkdir()
    args = ["translate", str(tmp_path / "in"), "-m", str(model), "-o", str(tmp_path / "out"), *options]
    return CliRunner().invoke(app, args)
