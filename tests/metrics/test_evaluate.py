"""``evaluate`` / ``i2i eval`` on tiny synthetic setups, with a random-weight Inception (meaningless
numbers, but the wiring -- which images are compared with which -- is checked exactly)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from i2i.card import ModelCard
from i2i.cli import app
from i2i.data import write_image
from i2i.metrics import evaluate as evaluate_module
from i2i.metrics import inception as inception_module
from i2i.metrics.evaluate import (
    FEATURE_METRICS,
    METRICS,
    PAIRED_METRICS,
    EvalResult,
    best_checkpoint,
    choose_metrics,
    evaluate,
    evaluate_generator,
    evaluate_run,
    format_rows,
    is_better,
    read_eval_records,
    training_inception,
)
from i2i.metrics.fid import extract_features, fid_from_features
from i2i.metrics.inception import FIDInceptionV3, InceptionWeightsError, load_fid_inception
from i2i.metrics.paired import psnr, ssim
from i2i.nn import create_generator
from i2i.weights import save_weights

GENERATOR_KWARGS = {"base_channels": 4}


@pytest.fixture(scope="module")
def inception() -> FIDInceptionV3:
    return load_fid_inception("random")


def _recipe(**data: Any) -> str:
    return yaml.safe_dump({"method": "pix2pix", "data": {"root": "", **data}})


def _spec(recipe: str, direction: str = "a2b") -> ModelCard:
    return ModelCard(
        arch="resnet_6blocks", kwargs=GENERATOR_KWARGS, method="pix2pix", direction=direction, recipe=recipe
    )


def _save_model(path: Path, recipe: str) -> Path:
    generator = create_generator("resnet_6blocks", **GENERATOR_KWARGS)
    save_weights(path, generator.state_dict(), [_spec(recipe)])
    return path


SYNTHETIC = {
    "layout": "synthetic_paired",
    "synthetic_size": 32,
    "synthetic_count": 3,
    "load_size": 32,
    "crop_size": 32,
    "preprocess": "none",
}


def _images(folder: Path, count: int, size: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    for i in range(count):
        write_image(folder / f"{i:02d}.png", rng.integers(0, 256, (*size, 3), dtype=np.uint8))


@pytest.mark.slow  # six 299x299 Inception passes
def test_paired_scores_compare_each_output_with_its_target(tmp_path: Path, inception: FIDInceptionV3) -> None:
    model = _save_model(tmp_path / "m.safetensors", _recipe(**SYNTHETIC))
    result = evaluate(model, inception_weights=inception, device="cpu", num_samples=10)
    assert (result.layout, result.split, result.num_translated, result.num_real) == (
        "synthetic_paired",
        "test",
        3,
        3,
    )
    assert len(result.samples) == 3
    inputs, outputs, targets = (np.stack(column) for column in zip(*result.samples, strict=True))  # type: ignore[arg-type]
    assert inputs.shape == outputs.shape == targets.shape == (3, 32, 32, 3) and outputs.dtype == np.uint8
    assert result.psnr == pytest.approx(psnr(outputs, targets).mean().item(), rel=1e-5)
    assert result.l1 == pytest.approx(np.abs(outputs / 255 - targets / 255).mean(), rel=1e-5)
    fid = fid_from_features(extract_features(inception, outputs), extract_features(inception, targets))
    assert result.fid == pytest.approx(fid, rel=1e-6)
    assert result.kid_std >= 0 and {"fid", "kid", "kid_std", "psnr", "ssim", "l1"} == set(result.metrics())


@pytest.mark.slow  # five Inception passes
def test_unaligned_folders_compare_all_translations_with_all_targets(
    tmp_path: Path, inception: FIDInceptionV3
) -> None:
    root = tmp_path / "data"
    _images(root / "testA", 2, (24, 24), seed=1)
    _images(root / "testB", 3, (24, 24), seed=2)
    model = _save_model(tmp_path / "m.safetensors", _recipe(layout="unaligned", preprocess="none"))
    result = evaluate(model, data_root=root, inception_weights=inception, device="cpu", batch_size=2)
    assert (result.layout, result.num_translated, result.num_real) == ("unaligned", 2, 3)
    assert result.psnr is None and result.ssim is None and set(result.metrics()) == {"fid", "kid", "kid_std"}
    assert not any("PSNR" in name for name, _ in format_rows(result))


@pytest.mark.slow  # four Inception passes
def test_layout_is_detected_without_a_recipe(tmp_path: Path, inception: FIDInceptionV3) -> None:
    root = tmp_path / "facades"
    _images(root / "val", 2, (16, 32), seed=3)  # A | B side by side: 16x16 halves
    model = _save_model(tmp_path / "m.safetensors", "")
    result = evaluate(model, data_root=root, split="val", inception_weights=inception, device="cpu")
    assert (result.layout, result.split, result.num_translated) == ("aligned", "val", 2)
    assert result.psnr is not None
    with pytest.raises(ValueError, match="cannot tell the layout"):
        evaluate(model, data_root=tmp_path / "nothing", inception_weights=inception, device="cpu")


@pytest.mark.slow  # four Inception passes
def test_generator_mode_is_restored_and_result_is_reported(tmp_path: Path, inception: FIDInceptionV3) -> None:
    generator = create_generator("resnet_6blocks", **GENERATOR_KWARGS).train()
    result = evaluate_generator(
        generator, _spec(_recipe(**{**SYNTHETIC, "synthetic_count": 2})), inception=inception, device="cpu"
    )
    assert generator.training and result.num_translated == 2 and result.psnr is not None


def test_is_better_knows_each_metric_direction() -> None:
    assert is_better("fid", 10.0, 12.0) and not is_better("fid", 12.0, 10.0)
    assert is_better("psnr", 25.0, 20.0) and not is_better("ssim", 0.5, 0.6)
    assert is_better("kid", 0.1, None) and not is_better("l1", float("nan"), None)
    with pytest.raises(ValueError, match="unknown metric"):
        is_better("lpips", 0.1, 0.2)


def _canned(fid: float) -> EvalResult:
    return EvalResult(
        "m", "synthetic_paired", "test", "a2b", "random", 3, 3, fid, 0.01, 0.001, 20.0, 0.5, 0.1
    )


def test_evaluate_run_logs_every_evaluation_and_keeps_the_best(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fids = iter([30.0, 20.0, 25.0, 19.0])
    monkeypatch.setattr(evaluate_module, "evaluate_generator", lambda *args, **kwargs: _canned(next(fids)))
    generator, spec = torch.nn.Identity(), _spec("")
    bests = [
        evaluate_run(tmp_path, generator, spec, step=step, checkpoint=f"step_{step:08d}")[1]
        for step in (100, 200, 300)
    ]
    assert bests == [True, True, False]
    assert best_checkpoint(tmp_path) == {
        "metric": "fid",
        "value": 20.0,
        "step": 200,
        "checkpoint": "step_00000200",
    }
    assert (tmp_path / "checkpoints" / "best").read_text() == "step_00000200\n"
    evaluate_run(
        tmp_path, generator, spec, step=300, checkpoint="step_00000300"
    )  # a resumed run repeats step 300
    records = read_eval_records(tmp_path)
    assert [(r["step"], r["fid"]) for r in records] == [(100, 30.0), (200, 20.0), (300, 19.0)]
    assert best_checkpoint(tmp_path)["checkpoint"] == "step_00000300"  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate_run(tmp_path, generator, spec, step=400, metric="lpips")


@pytest.mark.slow  # two CLI runs of four Inception passes
def test_cli_prints_json_and_a_table(
    tmp_path: Path, inception: FIDInceptionV3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        evaluate_module, "load_fid_inception", lambda weights, device: inception
    )  # no rebuild
    model = _save_model(tmp_path / "m.safetensors", _recipe(**{**SYNTHETIC, "synthetic_count": 2}))
    args = ["eval", str(model), "--inception-weights", "random", "--device", "cpu"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["num_translated"] == 2 and payload["inception"].startswith("RANDOM WEIGHTS")
    assert {"fid", "kid", "kid_std", "psnr", "ssim", "l1"} <= payload.keys()
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "FID" in table.output and "KID" in table.output and "±" in table.output and "PSNR" in table.output


def test_cli_missing_weights_exits_2_with_instructions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _save_model(tmp_path / "m.safetensors", _recipe(**SYNTHETIC))
    monkeypatch.setenv("I2I_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    result = CliRunner().invoke(app, ["eval", str(model), "--device", "cpu"])
    assert result.exit_code == 2
    assert "pt_inception-2015-12-05-6726825d.pth" in result.output and "--inception-weights" in result.output


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Inception weights anywhere, and a download fails as it does without internet."""
    monkeypatch.setenv("I2I_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.delenv("I2I_INCEPTION_WEIGHTS", raising=False)

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(inception_module, "_download", no_network)


@pytest.mark.parametrize(
    ("requested", "layout", "at_hand", "chosen", "skipped"),
    [
        (None, "aligned", True, METRICS, ()),
        (None, "aligned", False, PAIRED_METRICS, FEATURE_METRICS),
        (None, "unaligned", False, FEATURE_METRICS, ()),  # nothing else applies: as if asked for
        (["kid", "psnr"], "paired", False, ("psnr", "kid"), ()),
        (["fid"], "synthetic_paired", False, ("fid",), ()),
    ],
)
def test_choose_metrics_computes_what_it_can(
    requested: list[str] | None, layout: str, at_hand: bool, chosen: tuple[str, ...], skipped: tuple[str, ...]
) -> None:
    assert choose_metrics(requested, layout=layout, weights_at_hand=at_hand) == (chosen, skipped)


def test_choose_metrics_rejects_unknown_and_unpairable_metrics() -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'lpips'; choose from psnr, ssim, l1, fid, kid"):
        choose_metrics(["psnr", "lpips"], layout="aligned", weights_at_hand=True)
    with pytest.raises(ValueError, match=r"^ssim need a paired test set; the layout is 'unaligned'"):
        choose_metrics(["ssim", "fid"], layout="unaligned", weights_at_hand=True)
    with pytest.raises(ValueError, match="no metric given"):
        choose_metrics([], layout="aligned", weights_at_hand=True)


def test_paired_metrics_need_no_weights(tmp_path: Path, offline: None) -> None:
    model = _save_model(tmp_path / "m.safetensors", _recipe(**SYNTHETIC))
    result = evaluate(model, device="cpu", num_samples=3)
    assert result.skipped == ("fid", "kid") and set(result.metrics()) == {"psnr", "ssim", "l1"}
    assert (
        result.fid is None and result.inception == "" and (result.num_translated, result.num_real) == (3, 3)
    )
    _, outputs, targets = (np.stack(column) for column in zip(*result.samples, strict=True))  # type: ignore[arg-type]
    assert result.psnr == pytest.approx(psnr(outputs, targets).mean().item(), rel=1e-5)
    assert result.ssim == pytest.approx(ssim(outputs, targets).mean().item(), rel=1e-5)
    assert result.l1 == pytest.approx(np.abs(outputs / 255 - targets / 255).mean(), rel=1e-5)
    assert [name for name, _ in format_rows(result)] == ["PSNR (dB)", "SSIM", "L1", "images", "data"]


def test_cli_without_weights_scores_what_it_can_and_says_what_it_skipped(
    tmp_path: Path, offline: None
) -> None:
    model = _save_model(tmp_path / "m.safetensors", _recipe(**SYNTHETIC))
    result = CliRunner().invoke(app, ["eval", str(model), "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["fid"] is None and payload["psnr"] > 0 and payload["skipped"] == ["fid", "kid"]
    (note,) = result.stderr.splitlines()
    assert note.startswith("skipped fid, kid: the FID Inception weights are not at hand")
    assert "--metrics psnr,ssim,l1,fid,kid" in note and "--inception-weights PATH" in note
    chosen = CliRunner().invoke(app, ["eval", str(model), "--device", "cpu", "--json", "--metrics", "psnr"])
    assert chosen.exit_code == 0 and chosen.stderr == "", chosen.output
    assert {k for k in ("fid", "kid", "psnr", "ssim", "l1") if json.loads(chosen.stdout)[k] is not None} == {
        "psnr"
    }


def test_cli_asking_for_fid_without_weights_is_a_one_line_error(tmp_path: Path, offline: None) -> None:
    model = _save_model(tmp_path / "m.safetensors", _recipe(**SYNTHETIC))
    result = CliRunner().invoke(app, ["eval", str(model), "--device", "cpu", "--metrics", "psnr,fid"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: FID/KID need the FID Inception weights")
    assert "network is unreachable" in line and "--inception-weights PATH" in line
    unknown = CliRunner().invoke(app, ["eval", str(model), "--metrics", "psnr,lpips"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: unknown metric 'lpips'")


def test_evaluation_during_training_skips_fid_unless_it_is_the_metric(tmp_path: Path, offline: None) -> None:
    assert training_inception("psnr", None) is None
    with pytest.raises(InceptionWeightsError, match="network is unreachable"):
        training_inception("fid", None)  # asked for: fails before training starts
    generator = create_generator("resnet_6blocks", **GENERATOR_KWARGS)
    spec = _spec(_recipe(**{**SYNTHETIC, "synthetic_count": 2}))
    result, best = evaluate_run(tmp_path, generator, spec, step=10, checkpoint="step_00000010", metric="psnr")
    assert best and result.skipped == ("fid", "kid")
    (record,) = read_eval_records(tmp_path)
    assert set(record) == {"step", "checkpoint", "direction", "psnr", "ssim", "l1", "num_images"}
    with pytest.raises(InceptionWeightsError, match=r"^metric 'fid': skipped fid, kid"):
        evaluate_run(tmp_path, generator, spec, step=20, metric="fid")


def test_a_crafted_stored_recipe_is_parsed_within_the_recipe_bounds() -> None:
    from i2i.config import RecipeError
    from i2i.metrics.evaluate import TestData
    from tests.config.test_recipe_load import _alias_bomb

    # A weights header or ONNX metadata carries the recipe as text: the same bounds as a recipe file.
    with pytest.raises(RecipeError, match=r"^m\.safetensors: stored recipe: too many YAML aliases"):
        TestData.resolve(_alias_bomb(), direction="a2b", root="x", source="m.safetensors: stored recipe")
    with pytest.raises(RecipeError, match="expected a mapping"):
        TestData.resolve("- a\n", direction="a2b", root="x")
