"""Every CLI entry point over a corpus of hostile files: exit codes, one-line messages, no traceback.

The corpus is generated here (damaged and crafted models, recipes and images); each case names the
command line, the exit status it must end with and a pattern of its one-line message. Exit status 2 is
bad input or usage, 1 a job that ran and had failures.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data.io import write_image
from tests.infer.conftest import save_tiny_generator


def _with_props(model: onnx.ModelProto, **changes: str | None) -> bytes:
    """The model with some i2i metadata values replaced (``None`` removes the key)."""
    changed = onnx.ModelProto()
    changed.CopyFrom(model)
    kept = [(p.key, p.value) for p in changed.metadata_props if p.key.removeprefix("i2i.") not in changes]
    del changed.metadata_props[:]
    added = [("i2i." + k, v) for k, v in changes.items() if v is not None]
    for key, value in kept + added:
        entry = changed.metadata_props.add()
        entry.key, entry.value = key, value
    return changed.SerializeToString()


def _safetensors(header: object, payload: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + payload


def _digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file directly in the corpus folder (the models and recipes the cases read)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good and hostile files side by side (see the names in :data:`CASES`)."""
    from i2i.export.onnx import export_onnx
    from i2i.infer.torch_backend import TorchBackend
    from i2i.weights import load_generator

    root = tmp_path_factory.mktemp("corpus")
    good = save_tiny_generator(root / "good.safetensors")
    module, _ = load_generator(good)
    export_onnx(module, TorchBackend.load(good, device="cpu").card, root / "good.onnx", verify=False)
    data = (root / "good.onnx").read_bytes()
    model = onnx.load_from_string(data)
    files: dict[str, bytes] = {
        "truncated.onnx": data[: len(data) // 2],
        "empty.onnx": b"",
        "random.onnx": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "meta_bad_json.onnx": _with_props(model, kwargs="{not json"),
        "meta_bad_multiple.onnx": _with_props(model, size_multiple="-3"),
        "meta_bad_range.onnx": _with_props(model, value_range='"wide"'),
        "meta_none.onnx": _with_props(model, arch=None, size_multiple=None, value_range=None),
        "empty.pth": b"",
        "random.pth": b"PK\x03\x04" + bytes(200),
        "empty.safetensors": b"",
        "huge_header.safetensors": struct.pack("<Q", 10**12) + b"{}",
        "bad_json.safetensors": struct.pack("<Q", 5) + b"{abc}",
        # A header that claims a 4096-channel network over a tensor of 4 channels: refused before building.
        "crafted.safetensors": _safetensors(
            {
                "__metadata__": {
                    "i2i.generators": json.dumps(
                        [{"arch": "resnet_9blocks", "kwargs": {"base_channels": 4096}}]
                    )
                },
                "stem.1.weight": {"dtype": "F32", "shape": [4, 3, 7, 7], "data_offsets": [0, 2352]},
            },
            bytes(2352),
        ),
        "bomb.yaml": (
            "method: pix2pix\nl0: &l0 [lol]\n"
            + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
        ).encode(),
        "list.yaml": b"- a\n- b\n",
        "binary.yaml": bytes(range(256)),
    }
    for name, content in files.items():
        (root / name).write_bytes(content)
    images = root / "images"
    write_image(images / "ok.png", np.full((32, 48, 3), 128, np.uint8))
    write_image(images / "one_pixel.png", np.zeros((1, 1, 3), np.uint8))
    write_image(images / "thin.png", np.zeros((3, 500, 3), np.uint8))
    (images / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(20))
    (images / "gone.png").symlink_to(images / "deleted.png")
    (root / "empty_folder").mkdir()
    return root


@pytest.fixture(scope="module")
def corpus_digests(corpus: Path) -> dict[str, str]:
    """The corpus files' digests, taken before the first command runs over them."""
    return _digests(corpus)


# (id, argv with {c} for the corpus folder, exit status, pattern of the one error line)
CASES: list[tuple[str, list[str], int, str]] = [
    *[
        (f"info-{name}", ["info", "{c}/" + name], 2, re.escape(name) + pattern)
        for name, pattern in [
            ("truncated.onnx", ": not a readable ONNX model"),
            ("random.onnx", ": not a readable ONNX model"),
            ("empty.onnx", ": no i2i metadata"),
            ("meta_bad_json.onnx", r": model metadata i2i\.kwargs is not valid JSON"),
            ("meta_bad_multiple.onnx", ": unreadable model metadata .size_multiple must be at least 1"),
            ("meta_bad_range.onnx", ": unreadable model metadata"),
            ("meta_none.onnx", ": no i2i metadata for arch"),
            ("empty.pth", r": i2i info reads \.onnx, OpenVINO \.xml and \.safetensors"),
            ("empty.safetensors", ": not a readable safetensors file"),
            ("huge_header.safetensors", ": not a readable safetensors file"),
            ("bad_json.safetensors", ": not a readable safetensors file"),
            ("missing.onnx", ": no such file"),
        ]
    ],
    *[
        (
            f"translate-{name}",
            ["translate", "{c}/images", "--model", "{c}/" + name, "--out", "{c}/out"],
            2,
            pattern,
        )
        for name, pattern in [
            ("truncated.onnx", r"truncated\.onnx: not a readable ONNX model"),
            ("meta_bad_json.onnx", r"meta_bad_json\.onnx: model metadata"),
            ("empty.pth", r"empty\.pth: "),
            ("random.pth", r"random\.pth: "),
            ("crafted.safetensors", r"crafted\.safetensors: generator 'resnet_9blocks' .* does not match"),
            ("missing.onnx", r"missing\.onnx"),
        ]
    ],
    *[
        (
            f"translate-option-{'-'.join(opts)}",
            ["translate", "{c}/images", "--model", "{c}/good.onnx", "--out", "{c}/out", *opts],
            2,
            pattern,
        )
        for opts, pattern in [
            (["--resize", "1"], "--resize 1 is smaller than this resnet_6blocks model takes .at least 8 px"),
            (["--resize", "0"], "resize must be a positive number"),
            (["--tile", "3"], "--tile must be a positive multiple"),
            (["--tile", "4"], "--tile 4 is smaller than the model takes"),
            (["--tile", "32", "--overlap", "100"], "--overlap .* must be at most half of --tile 32"),
            (["--batch-size", "0"], "batch_size must be at least 1"),
            (["--format", "gif"], "format must be same, png or jpg"),
            (["--quality", "0"], r"quality must be in \[1, 100\]"),
            (["--device", "quantum"], "device 'quantum' is not available"),
            (["--domain", "zebra"], "has no domains to choose from"),
        ]
    ],
    (
        "translate-into-input",
        ["translate", "{c}/images", "--model", "{c}/good.onnx", "--out", "{c}/images/out"],
        2,
        "inside",
    ),
    (
        "translate-missing-folder",
        ["translate", "{c}/nowhere", "--model", "{c}/good.onnx", "--out", "{c}/out"],
        2,
        "nowhere",
    ),
    *[
        (f"export-{name}", ["export", "{c}/" + name, *extra, "--out", "{c}/exported.onnx"], 2, pattern)
        for name, extra, pattern in [
            ("empty.pth", [], r"empty\.pth: a reference \.pth file needs --arch"),
            (
                "empty.pth",
                ["--arch", "resnet_9blocks"],
                r"empty\.pth: not a readable PyTorch checkpoint .* never unpickles",
            ),
            ("random.pth", ["--arch", "resnet_9blocks"], r"random\.pth: not a readable PyTorch checkpoint"),
            ("truncated.onnx", [], r"truncated\.onnx: already an ONNX model; export reads a run directory"),
            (
                "crafted.safetensors",
                [],
                r"crafted\.safetensors: generator 'resnet_9blocks' .* does not match the stored tensors",
            ),
            ("good.safetensors", ["--precision", "int3"], "unknown precision 'int3'"),
        ]
    ],
    (
        "export-onto-itself",
        ["export", "{c}/good.safetensors", "--out", "{c}/good.safetensors"],
        2,
        r"good\.safetensors: is the input",
    ),
    (
        "import-reference-empty",
        ["import-reference", "{c}/empty.pth", "--arch", "resnet_9blocks", "--out", "{c}/x.safetensors"],
        2,
        r"empty\.pth: not a readable PyTorch checkpoint",
    ),
    (
        "eval-truncated",
        ["eval", "{c}/truncated.onnx", "--data", "{c}/images"],
        2,
        r"truncated\.onnx: not a readable ONNX model",
    ),
    ("eval-no-layout", ["eval", "{c}/good.onnx", "--data", "{c}/images"], 2, "cannot tell the layout"),
    ("report-a-file", ["report", "{c}/good.onnx"], 2, "no such run directory"),
    ("train-bomb", ["train", "{c}/bomb.yaml", "--out", "{c}/run"], 2, r"bomb\.yaml: too many YAML aliases"),
    ("train-list", ["train", "{c}/list.yaml", "--out", "{c}/run"], 2, r"list\.yaml: expected a mapping"),
    ("train-binary", ["train", "{c}/binary.yaml", "--out", "{c}/run"], 2, r"binary\.yaml: "),
    (
        "train-bad-set",
        ["train", "demo_pix2pix", "--set", "nonsense", "--out", "{c}/run"],
        2,
        "expected KEY.PATH=VALUE",
    ),
    (
        "train-huge-crop",
        ["train", "demo_pix2pix", "--set", "data.crop_size=1000000", "--out", "{c}/run"],
        2,
        "crop_size",
    ),
    ("data-download-unknown", ["data", "download", "no_such_set"], 1, "unknown dataset 'no_such_set'"),
]


@pytest.mark.parametrize(("argv", "code", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_gets_one_line_and_its_exit_status(
    corpus: Path, corpus_digests: dict[str, str], argv: list[str], code: int, pattern: str
) -> None:
    args = [a.replace("{c}", str(corpus)) for a in argv]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert re.search(pattern, errors[0]), errors[0]
    assert result.exit_code == code, result.output
    assert _digests(corpus) == corpus_digests  # no input replaced, truncated or removed


def test_bad_images_fail_one_by_one_and_the_rest_are_written(corpus: Path, tmp_path: Path) -> None:
    args = ["translate", f"{corpus}/images", "--model", f"{corpus}/good.onnx", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    failed = {
        line.split(": ", 2)[1].removeprefix(f"{corpus}/images/"): line
        for line in result.output.splitlines()
        if line.startswith("  failed: ")
    }
    assert sorted(failed) == ["gone.png", "one_pixel.png", "thin.png", "truncated.jpg"]
    assert (
        "1x1 px is smaller than this resnet_6blocks model takes (at least 8 px per side)"
        in failed["one_pixel.png"]
    )
    assert "500x3 px is smaller" in failed["thin.png"]
    assert "broken symbolic link" in failed["gone.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["ok.png"]


@pytest.mark.parametrize(
    "argv",
    [["--no-such-option"], ["--tile", "abc"], ["--format"]],
    ids=["unknown-option", "not-an-integer", "missing-value"],
)
def test_usage_errors_exit_2_before_any_image(corpus: Path, tmp_path: Path, argv: list[str]) -> None:
    base = ["translate", f"{corpus}/images", "--model", f"{corpus}/good.onnx", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, [*base, *argv])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow  # two fresh interpreters
def test_a_real_process_prints_one_line_on_stderr_and_no_traceback(corpus: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    for argv, code in (
        (["info", f"{corpus}/truncated.onnx"], 2),
        (["train", f"{corpus}/bomb.yaml", "--out", f"{corpus}/run"], 2),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "i2i", *argv], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == code, done.stderr
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
        assert "Traceback" not in done.stderr + done.stdout
