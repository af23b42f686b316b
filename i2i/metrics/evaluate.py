"""Evaluate a translation model on a test split: FID / KID against real target images, and
PSNR / SSIM / L1 against the paired targets when the layout is paired.

Which metrics run (:func:`choose_metrics`): those asked for, else PSNR / SSIM / L1 for a paired test
set plus FID / KID when the Inception weights are at hand (given, ``$I2I_INCEPTION_WEIGHTS`` or
cached); otherwise FID / KID are skipped, and ``EvalResult.skipped`` says so. An unpaired set has
only FID / KID, so they are its default. Asking for FID or KID loads (or downloads) the weights.

The test images come from :func:`i2i.data.build_dataset` in eval mode (deterministic geometry, no
flip) with the settings of the model's own recipe (layout, sizes, direction), overridable per call.
Translations go through :class:`i2i.infer.Translator` (uint8 in, uint8 out), exactly what
``i2i translate`` writes, so the numbers describe the images a user gets.

FID / KID compare the set of translations of every test input with the set of every real
target-domain test image (unpaired layouts: all of ``testB``). The FID of a few hundred images is
biased upwards; KID (with its std over subsets) is the number to compare across set sizes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.utils.data import Dataset

from i2i.card import ModelCard
from i2i.config.load import parse_recipe_yaml
from i2i.config.schema import HIGHER_IS_BETTER
from i2i.data import Geometry, build_dataset, data_layout, to_uint8
from i2i.data.layouts import detect_layout
from i2i.files import write_text_atomic
from i2i.infer import TorchBackend, Translator
from i2i.infer.backends import Backend
from i2i.infer.torch_backend import torch_device
from i2i.metrics.fid import distribution_scores, extract_features
from i2i.metrics.inception import (
    RANDOM_WEIGHTS,
    WEIGHTS_ENV,
    FIDInceptionV3,
    InceptionWeightsError,
    inception_weights_at_hand,
    load_fid_inception,
)
from i2i.metrics.paired import PairedAccumulator
from i2i.run_dir import RunDir

PAIRED_METRICS = ("psnr", "ssim", "l1")  # each output against its own target
FEATURE_METRICS = ("fid", "kid")  # the set of outputs against the set of targets, in FID Inception features
METRICS = (*PAIRED_METRICS, *FEATURE_METRICS)

Image = NDArray[np.uint8]


@dataclass(frozen=True)
class TestData:
    """Where the test images come from and how they are prepared (``build_dataset`` arguments)."""

    layout: str
    root: str
    split: str = "test"
    direction: str = "a2b"
    load_size: int = 256
    crop_size: int = 256
    preprocess: str = "none"
    in_channels: int = 3
    out_channels: int = 3
    max_images: int | None = None
    synthetic_size: int = 64
    synthetic_count: int = 200

    @property
    def paired(self) -> bool:
        """Whether the test items have pixel-aligned targets (PSNR / SSIM / L1 apply)."""
        return data_layout(self.layout).paired

    @classmethod
    def resolve(
        cls,
        recipe_yaml: str,
        *,
        direction: str,
        root: str | Path | None = None,
        split: str | None = None,
        layout: str | None = None,
        max_images: int | None = None,
        source: str = "the model's stored recipe",
    ) -> TestData:
        """Test data for a model: its recipe's ``data`` section, then the explicit arguments.

        Without a recipe (an imported reference model) the layout is detected from ``root``
        (``A``/``B`` folders: paired; ``testA``/``testB``: unaligned; a ``test`` folder: aligned) and
        images keep their size (``preprocess="none"``).

        Args:
            recipe_yaml: The resolved recipe stored with the model ("" when unknown).
            direction: The generator's data direction (its input is side ``a`` after applying it).
            source: Where ``recipe_yaml`` came from, for error messages (the model file).

        Raises:
            RecipeError: The stored recipe is not a YAML mapping or exceeds the recipe size bounds.
        """
        loaded = parse_recipe_yaml(recipe_yaml, source) if recipe_yaml.strip() else {}
        section = loaded.get("data")
        data: dict[str, Any] = dict(section) if isinstance(section, dict) else {}
        split = split or str(data.get("test_split", "test"))
        root_path = str(root) if root is not None else str(data.get("root", ""))
        layout = layout or data.get("layout") or detect_layout(root_path, split)
        if data_layout(layout).needs_root and not root_path:
            raise ValueError(f"no test data: the {layout!r} layout needs --data DIR")
        keys = {f.name for f in dataclasses.fields(cls)} - {"layout", "root", "split", "direction"}
        known = {k: v for k, v in data.items() if k in keys and v is not None}
        if max_images is not None:
            known["max_images"] = max_images
        return cls(layout=layout, root=root_path, split=split, direction=direction, **known)

    def dataset(self) -> Dataset[dict[str, object]]:
        """The eval-mode dataset (deterministic resize / centre crop, never flipped); a dataset whose
        training items are not what its model is scored on (colorization: lightness -> colour pairs,
        scored on the photos) gives its ``evaluation_view()``."""
        geometry = Geometry(
            train=False,
            direction=self.direction,  # type: ignore[arg-type]
            load_size=self.load_size,
            crop_size=self.crop_size,
            preprocess=self.preprocess,  # type: ignore[arg-type]
            flip=False,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
        )
        dataset = build_dataset(
            self.layout,
            self.root,
            self.split,
            geometry,
            max_images=self.max_images,
            synthetic_size=self.synthetic_size,
            synthetic_count=self.synthetic_count,
        )
        view = getattr(dataset, "evaluation_view", None)
        return view() if view is not None else dataset


@dataclass(frozen=True)
class EvalResult:
    """Scores of one model on one test split; a metric not computed is ``None``.

    ``psnr``/``ssim``/``l1`` need a paired test set; ``skipped`` names the metrics left out because the
    Inception weights were not at hand.
    """

    model: str
    layout: str
    split: str
    direction: str
    inception: str
    num_translated: int
    num_real: int
    fid: float | None = None
    kid: float | None = None
    kid_std: float | None = None
    psnr: float | None = None
    ssim: float | None = None
    l1: float | None = None
    samples: list[tuple[Image, Image, Image | None]] = field(default_factory=list, repr=False, compare=False)
    skipped: tuple[str, ...] = ()

    def metrics(self) -> dict[str, float]:
        """The numbers computed: some of ``fid``, ``kid``, ``kid_std``, ``psnr``, ``ssim``, ``l1``."""
        names = ("fid", "kid", "kid_std", "psnr", "ssim", "l1")
        return {name: float(getattr(self, name)) for name in names if getattr(self, name) is not None}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything but the sample images."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "samples"}


def choose_metrics(
    requested: Sequence[str] | None, *, layout: str, weights_at_hand: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(metrics to compute, metrics skipped)`` for a test set of ``layout`` (see the module doc).

    Args:
        requested: Names from :data:`METRICS`, or ``None`` for the default.
        layout: The test set's layout (paired metrics need a paired one: the registry's flag).
        weights_at_hand: Whether the FID Inception weights are available without a download.

    Raises:
        ValueError: An unknown metric, or a paired metric asked for on an unpaired test set.
    """
    paired = data_layout(layout).paired
    if requested is None:
        if not paired:
            return FEATURE_METRICS, ()  # nothing else applies: FID / KID as if asked for
        if weights_at_hand:
            return METRICS, ()
        return PAIRED_METRICS, FEATURE_METRICS
    unknown = [name for name in requested if name not in METRICS]
    if unknown or not requested:
        what = f"unknown metric {', '.join(map(repr, unknown))}" if unknown else "no metric given"
        raise ValueError(f"{what}; choose from {', '.join(METRICS)}")
    unpairable = [name for name in requested if name in PAIRED_METRICS and not paired]
    if unpairable:
        raise ValueError(f"{', '.join(unpairable)} need a paired test set; the layout is {layout!r}")
    return tuple(name for name in METRICS if name in requested), ()


def skipped_note(result: EvalResult) -> str | None:
    """One line naming the skipped metrics and how to enable them, or ``None`` if none was skipped."""
    if not result.skipped:
        return None
    return (
        f"skipped {', '.join(result.skipped)}: the FID Inception weights are not at hand; "
        f"--metrics {','.join(METRICS)} downloads them, or give the file with --inception-weights PATH "
        f"or {WEIGHTS_ENV}=PATH"
    )


def _test_items(dataset: Dataset[dict[str, object]]) -> Iterator[tuple[Image | None, Image | None]]:
    """``(input, target)`` uint8 images; unpaired sets may run out of one side before the other."""
    length = len(dataset)  # type: ignore[arg-type]
    count_a = len(getattr(dataset, "paths_a", range(length)))
    count_b = len(getattr(dataset, "paths_b", range(length)))
    for index in range(length):  # unaligned: item i holds A[i % nA] and B[i % nB]; take each once
        item = dataset[index]
        a = to_uint8(item["a"]) if index < count_a else None  # type: ignore[arg-type]
        b = to_uint8(item["b"]) if index < count_b else None  # type: ignore[arg-type]
        yield a, b


def evaluate_translator(
    translator: Translator,
    data: TestData,
    inception: nn.Module | None,
    *,
    metrics: Sequence[str] = METRICS,
    skipped: Sequence[str] = (),
    model_name: str = "",
    inception_name: str = "",
    batch_size: int = 16,
    device: str | torch.device = "cpu",
    num_samples: int = 0,
    fid_method: str = "exact",
) -> EvalResult:
    """Translate the test split with ``translator`` and score it (see the module doc).

    Args:
        translator: Any translator (ONNX or PyTorch).
        data: The test images.
        inception: The FID feature network (:func:`~i2i.metrics.inception.load_fid_inception`);
            ``None`` when ``metrics`` holds neither ``fid`` nor ``kid``.
        metrics: What to report (paired metrics only for a paired test set).
        skipped: Recorded in ``EvalResult.skipped``.
        batch_size: Images per translation batch and per Inception batch.
        device: Where the Inception network runs.
        num_samples: Keep this many ``(input, output, target)`` triples in ``EvalResult.samples``.
        fid_method: ``"exact"`` or ``"sqrtm"`` (pytorch-fid's steps); see
            :func:`~i2i.metrics.fid.fid_from_features`.
    """
    wants_features = any(name in FEATURE_METRICS for name in metrics)
    if wants_features and inception is None:
        raise ValueError("fid and kid need the FID Inception network")
    features = inception if wants_features else None
    inputs: list[Image] = []
    targets: list[Image | None] = []
    fake_features: list[NDArray[np.float64]] = []
    real_features: list[NDArray[np.float64]] = []
    real_batch: list[Image] = []
    wants_paired = data.paired and any(name in PAIRED_METRICS for name in metrics)
    paired = PairedAccumulator(value_range=(0.0, 1.0)) if wants_paired else None
    samples: list[tuple[Image, Image, Image | None]] = []
    num_translated = num_real = 0

    def flush_inputs() -> None:
        nonlocal num_translated
        outputs = translator.translate_batch(inputs)
        num_translated += len(outputs)
        if features is not None:
            fake_features.append(extract_features(features, outputs, batch_size=batch_size, device=device))
        if paired is not None:
            paired.update(np.stack(outputs), np.stack([t for t in targets if t is not None]))
        for source, output, target in zip(inputs, outputs, targets, strict=True):
            if len(samples) < num_samples:
                samples.append((source, output, target))
        inputs.clear()
        targets.clear()

    for source, target in _test_items(data.dataset()):
        if target is not None:
            num_real += 1
            real_batch.append(target)
            if len(real_batch) == batch_size:
                if features is not None:
                    real_features.append(
                        extract_features(features, real_batch, batch_size=batch_size, device=device)
                    )
                real_batch.clear()
        if source is None:
            continue
        if inputs and (len(inputs) == batch_size or inputs[0].shape != source.shape):
            flush_inputs()
        inputs.append(source)
        targets.append(target if data.paired else None)
    if inputs:
        flush_inputs()
    if real_batch and features is not None:
        real_features.append(extract_features(features, real_batch, batch_size=batch_size, device=device))
    values: dict[str, float | None] = {}
    if features is not None:
        scores = distribution_scores(
            np.concatenate(fake_features), np.concatenate(real_features), fid_method=fid_method
        )
        values.update(fid=scores.fid, kid=scores.kid, kid_std=scores.kid_std)
    if paired is not None:
        pair_scores = paired.compute()
        values.update(psnr=pair_scores.psnr, ssim=pair_scores.ssim, l1=pair_scores.l1)
    wanted = {*metrics, *(("kid_std",) if "kid" in metrics else ())}
    return EvalResult(
        model=model_name,
        layout=data.layout,
        split=data.split,
        direction=data.direction,
        inception=inception_name if features is not None else "",
        num_translated=num_translated,
        num_real=num_real,
        samples=samples,
        skipped=tuple(skipped),
        **{name: value for name, value in values.items() if name in wanted},
    )


def _scoring(
    requested: Sequence[str] | None,
    layout: str,
    weights: str | Path | FIDInceptionV3 | None,
    device: torch.device,
) -> tuple[tuple[str, ...], tuple[str, ...], nn.Module | None, str]:
    """``(metrics, skipped, Inception network or None, its description)`` for a test set."""
    metrics, skipped = choose_metrics(
        requested, layout=layout, weights_at_hand=inception_weights_at_hand(weights)
    )
    if not any(name in FEATURE_METRICS for name in metrics):
        return metrics, skipped, None, ""
    return (metrics, skipped, *_inception(weights, device))


def _inception(weights: str | Path | FIDInceptionV3 | None, device: torch.device) -> tuple[nn.Module, str]:
    if isinstance(weights, FIDInceptionV3):
        return weights.to(device), "FID Inception (given)"
    net = load_fid_inception(weights, device=device)
    name = (
        "RANDOM WEIGHTS (test only: the numbers mean nothing)"
        if weights == RANDOM_WEIGHTS
        else "FID Inception pt_inception-2015-12-05 (pytorch-fid, bilinear resize)"
    )
    return net, name


def _metrics_device(device: str) -> torch.device:
    return torch_device(device if device in ("auto", "cpu", "cuda", "mps") else "auto")


def evaluate(
    model: str | os.PathLike[str] | Backend,
    *,
    data_root: str | Path | None = None,
    split: str | None = None,
    layout: str | None = None,
    direction: str | None = None,
    inception_weights: str | Path | FIDInceptionV3 | None = None,
    metrics: Sequence[str] | None = None,
    batch_size: int = 16,
    device: str = "auto",
    max_images: int | None = None,
    num_samples: int = 0,
    fid_method: str = "exact",
    backend: str = "auto",
    precision: str | None = None,
) -> EvalResult:
    """Evaluate ``model`` (``.onnx``, ``.safetensors``, checkpoint or run directory) on its test split.

    Args:
        model: What :class:`~i2i.infer.Translator` accepts.
        data_root: Dataset root; default: the recipe's ``data.root`` (synthetic layouts need none).
        split: Default: the recipe's ``data.test_split`` (``"test"``).
        layout: Default: the recipe's; detected from ``data_root`` without a recipe.
        direction: Which generator of a two-generator file (``a2b`` / ``b2a``).
        inception_weights: A weights file, ``None`` (env / cache / download), a loaded network, or
            ``"random"`` (tests only: meaningless numbers).
        metrics: Names from :data:`METRICS`; ``None``: see :func:`choose_metrics`.
        batch_size: Images per batch.
        device: ``auto``, ``cpu``, ``cuda``, ``mps`` (``tensorrt`` for ONNX models; Inception then
            runs on ``auto``).
        max_images: Use at most this many test images per side.
        num_samples: Keep this many ``(input, output, target)`` triples for a gallery.
        fid_method: ``"exact"`` (default) or ``"sqrtm"`` (pytorch-fid's steps, a minute on CPU).
        backend: ``"auto"`` (by the file), ``"onnxruntime"``, ``"openvino"`` or ``"pytorch"``.
        precision: PyTorch / OpenVINO precision (see :class:`~i2i.infer.Translator`).

    Raises:
        i2i.metrics.InceptionWeightsError: FID / KID asked for without usable weights (says what to do).
        ValueError: Unusable model, data, options or metrics.
    """
    metrics_device = _metrics_device(device)
    translator = Translator(
        model,
        backend=backend,
        device=device,
        precision=precision,
        batch_size=batch_size,
        direction=direction,
        mode="throughput",
    )
    card = translator.card
    data = TestData.resolve(
        card.recipe,
        direction=card.direction,
        root=data_root,
        split=split,
        layout=layout,
        max_images=max_images,
        source=f"{model}: stored recipe",
    )
    chosen, skipped, net, inception_name = _scoring(  # fail early, before translating
        metrics, data.layout, inception_weights, metrics_device
    )
    name = model.name if isinstance(model, Backend) else f"{model} ({translator.backend.name})"
    return evaluate_translator(
        translator,
        data,
        net,
        metrics=chosen,
        skipped=skipped,
        model_name=name,
        inception_name=inception_name,
        batch_size=batch_size,
        device=metrics_device,
        num_samples=num_samples,
        fid_method=fid_method,
    )


def evaluate_generator(
    generator: nn.Module,
    card: ModelCard,
    *,
    inception: str | Path | FIDInceptionV3 | None = None,
    metrics: Sequence[str] | None = None,
    data_root: str | Path | None = None,
    split: str | None = None,
    max_images: int | None = None,
    batch_size: int = 16,
    device: str = "auto",
    num_samples: int = 0,
) -> EvalResult:
    """Evaluate an in-memory generator (during training); its train/eval mode is restored after.

    The test data follow ``card.recipe`` and ``card.direction``, as for a saved model; ``metrics`` and
    ``inception`` as for :func:`evaluate`.
    """
    was_training = generator.training
    metrics_device = _metrics_device(device)
    try:
        backend = TorchBackend(generator, card, device=device, channels_last=False)
        data = TestData.resolve(
            card.recipe, direction=card.direction, root=data_root, split=split, max_images=max_images
        )
        chosen, skipped, net, inception_name = _scoring(metrics, data.layout, inception, metrics_device)
        return evaluate_translator(
            Translator(backend, batch_size=batch_size),
            data,
            net,
            metrics=chosen,
            skipped=skipped,
            model_name=f"{card.arch} ({card.direction})",
            inception_name=inception_name,
            batch_size=batch_size,
            device=metrics_device,
            num_samples=num_samples,
        )
    finally:
        generator.train(was_training)


def training_inception(
    metric: str, weights: str | Path | None, device: str | torch.device = "cpu"
) -> FIDInceptionV3 | None:
    """The FID network for evaluation during training, loaded once before training starts.

    Loaded when ``metric`` is FID / KID (asked for: a missing file fails now, not at the first
    evaluation) or when the weights are at hand; otherwise ``None``, and evaluations skip FID / KID.
    """
    if metric in FEATURE_METRICS or inception_weights_at_hand(weights):
        return load_fid_inception(weights, device=device)
    return None


def is_better(metric: str, value: float, best: float | None) -> bool:
    """Whether ``value`` beats ``best`` for ``metric`` (lower FID/KID/L1, higher PSNR/SSIM)."""
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(HIGHER_IS_BETTER)}")
    if best is None or not math.isfinite(best):
        return math.isfinite(value)
    return value > best if HIGHER_IS_BETTER[metric] else value < best


def best_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The best-checkpoint record of a run (``checkpoints/best.json``), or ``None``."""
    path = RunDir(Path(run_dir)).best_record
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record


def evaluate_run(
    run_dir: str | Path,
    generator: nn.Module,
    card: ModelCard,
    *,
    step: int,
    checkpoint: str | None = None,
    metric: str = "fid",
    inception: str | Path | FIDInceptionV3 | None = None,
    data_root: str | Path | None = None,
    max_images: int | None = None,
    batch_size: int = 16,
    device: str = "auto",
) -> tuple[EvalResult, bool]:
    """The training hook: evaluate, append to ``RUN/eval.jsonl``, and track the best checkpoint.

    When ``checkpoint`` (a directory name under ``RUN/checkpoints``, e.g. ``step_00001000``) is
    given and ``metric`` improves on ``RUN/checkpoints/best.json``, the record and the text pointer
    ``RUN/checkpoints/best`` (like ``last``) are rewritten atomically.

    FID / KID are computed only with ``inception`` (see :func:`training_inception`) or weights at hand.

    Returns:
        ``(result, is_new_best)``.
    """
    if metric not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(HIGHER_IS_BETTER)}")
    run_dir = Path(run_dir)
    result = evaluate_generator(
        generator,
        card,
        inception=inception,
        data_root=data_root,
        max_images=max_images,
        batch_size=batch_size,
        device=device,
    )
    values = result.metrics()
    if metric not in values:
        if metric in result.skipped:  # the trainer loads the network for FID / KID (training_inception)
            raise InceptionWeightsError(f"metric {metric!r}: {skipped_note(result)}")
        raise ValueError(f"metric {metric!r} needs a paired test set; this run's layout is {result.layout!r}")
    record = {"step": step, "checkpoint": checkpoint, "direction": result.direction, **values}
    record["num_images"] = result.num_translated
    with RunDir(run_dir).eval_log.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    previous = best_checkpoint(run_dir)
    improved = checkpoint is not None and is_better(
        metric,
        values[metric],
        previous.get("value") if previous and previous.get("metric") == metric else None,
    )
    if improved:
        run = RunDir(run_dir)
        best = {"metric": metric, "value": values[metric], "step": step, "checkpoint": checkpoint}
        write_text_atomic(run.best_record, json.dumps(best, indent=2) + "\n")
        write_text_atomic(run.best_pointer, f"{checkpoint}\n")
    return result, improved


def read_eval_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``RUN/eval.jsonl``, one per step (a step evaluated twice, after a resume, keeps the last)."""
    path = RunDir(Path(run_dir)).eval_log
    if not path.is_file():
        return []
    by_step: dict[int, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            by_step[int(record["step"])] = record
    return [by_step[step] for step in sorted(by_step)]


def format_rows(result: EvalResult) -> Sequence[tuple[str, str]]:
    """``(name, value)`` rows for a table: the metrics computed (KID with its std), then the data."""
    rows = []
    if result.fid is not None:
        rows.append(("FID", f"{result.fid:.2f}"))
    if result.kid is not None and result.kid_std is not None:
        rows.append(("KID (x1000)", f"{result.kid * 1000:.2f} ± {result.kid_std * 1000:.2f}"))
    if result.psnr is not None:
        rows.append(("PSNR (dB)", f"{result.psnr:.2f}"))
    if result.ssim is not None:
        rows.append(("SSIM", f"{result.ssim:.4f}"))
    if result.l1 is not None:
        rows.append(("L1", f"{result.l1:.4f}"))
    rows += [
        ("images", f"{result.num_translated} translated, {result.num_real} real"),
        ("data", f"{result.layout}, split {result.split}, {result.direction}"),
    ]
    if result.inception:
        rows.append(("inception", result.inception))
    return rows
