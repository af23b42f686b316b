"""Benchmark every CPU translation path on the same photos and the same trained generator, in one run.

Paths (each a :class:`~i2i.infer.Translator`, so the times are end to end: uint8 pixels in, uint8
pixels out, preparation and finishing included):

- ``reference loop``: PyTorch eager fp32, one image at a time (what the reference implementation's
  ``test.py`` does): the baseline of every ratio;
- ONNX Runtime fp32 and int8 (static QDQ, ``i2i export --precision int8``);
- PyTorch bf16 autocast;
- OpenVINO fp32, bf16 and int8 (NNCF, ``i2i export --format openvino --precision int8``), throughput
  mode (parallel requests).

Quality: PSNR (mean and worst image) and SSIM of each path's pictures against the reference loop's
fp32 pictures. Images: ``--count`` photos of ``--photos`` at their size (horse2zebra: 256x256) and
``--large`` of them upscaled (bicubic) to ``--large-size`` (1024x768 by default), a size the test set
does not have. int8 models are calibrated on ``--calibrate`` (default: the training photos beside the
test folder), never on the photos measured. Every path runs once over each image set after a warm-up
image; ``--repeats`` rounds alternate the order of the paths and the best round is kept (the machine is
shared). Peak RSS is sampled every 20 ms while a path runs (the process's, so it includes torch).

``--ort-memory`` adds the large-photo study of ONNX Runtime int8: batch 4 vs batch 1 and the CPU
memory arena on vs off, at ``--large-size``.

Example::

    python tools/bench_translate.py --model runs/horse2zebra --direction a2b
    python tools/bench_translate.py --model w.safetensors --count 8 --large 2 --ort-memory
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from i2i.card import ModelCard
from i2i.data.io import list_images, read_image
from i2i.export.onnx import export_onnx_with_report
from i2i.export.openvino_ir import Int8Settings
from i2i.infer import OnnxBackend, TorchBackend, Translator, translate_folder
from i2i.infer.openvino import BF16_FLAGS, OpenVinoBackend, cpu_features
from i2i.metrics.paired import psnr, ssim
from i2i.weights import load_generator

PATHS: tuple[str, ...] = (
    "reference loop (pytorch fp32, batch 1)",
    "onnxruntime fp32",
    "onnxruntime int8",
    "pytorch bf16",
    "openvino fp32",
    "openvino bf16",
    "openvino int8",
    "openvino int8, float parts f32 (as without bf16)",
)


@contextmanager
def peak_rss() -> Iterator[list[float]]:
    """Yield a one-element list that holds, after the block, how far the resident set grew (GB) above
    its size at the start (memory freed by earlier paths and reused is not counted: a lower bound)."""
    result = [0.0]
    stop = threading.Event()

    def resident() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 / 1e9

    start = resident()

    def sample() -> None:
        while not stop.is_set():
            result[0] = max(result[0], resident() - start)
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()


@dataclass
class Measure:
    speed: float = 0.0  # images/s, best round
    rss: float = 0.0  # GB, peak growth of the process's resident set while the path ran
    pictures: list[np.ndarray] = field(default_factory=list)


def time_path(
    translator: Translator, images: list[np.ndarray], one_by_one: bool
) -> tuple[float, float, list]:
    """(images/s, peak RSS GB, pictures) of one pass after a warm-up image."""
    translator.translate(images[0])
    with peak_rss() as rss:
        start = time.perf_counter()
        if one_by_one:
            pictures = [translator.translate(image) for image in images]
        else:
            pictures = translator.translate_batch(images)
        seconds = time.perf_counter() - start
    return len(images) / seconds, rss[0], pictures


def pipeline_check(make: Callable[[], Translator], folder: Path, out: Path, images: list[np.ndarray]) -> None:
    """The folder pipeline (decode + network + encode, threads around the network) against the same
    translator on decoded images: it should keep at least 90% of the throughput."""
    translator = make()
    speed, _, _ = time_path(translator, images, one_by_one=False)
    summary = translate_folder(translator, folder, out)
    ratio = summary.images_per_second / speed
    verdict = "PASS" if ratio >= 0.9 else "FAIL"
    print(
        f"\npipeline ({translator.backend.name}): {summary.images_per_second:.2f} images/s from and to disk "
        f"vs {speed:.2f} on decoded images: {ratio:.2f} -> {verdict} (>= 0.90)"
    )


def quality(pictures: list[np.ndarray], reference: list[np.ndarray]) -> str:
    if pictures is reference:
        return "baseline"
    fake = torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).float() / 127.5 - 1
    real = torch.from_numpy(np.stack(reference)).permute(0, 3, 1, 2).float() / 127.5 - 1
    per_image = psnr(fake, real)  # (B,) dB, capped at 100 for identical pictures
    mean_ssim = float(ssim(fake, real).mean())
    return f"PSNR {per_image.mean():5.1f} dB (min {per_image.min():5.1f}), SSIM {mean_ssim:.4f}"


def build_paths(args: argparse.Namespace, work: Path) -> dict[str, Callable[[], Translator]]:
    generator, card = load_generator(args.model, direction=args.direction)
    generator.eval()
    fp32, ort_int8, ov_int8 = work / "fp32.onnx", work / "int8.onnx", work / "int8.xml"
    calibration = work / "calibration"  # the first --calibrate-count photos of --calibrate
    calibration.mkdir()
    for source in list_images(args.calibrate)[: args.calibrate_count]:
        (calibration / source.name).symlink_to(source.resolve())
    common = {"calibration_images": calibration, "calibration_size": args.calibrate_size, "verify": False}
    export_onnx_with_report(generator, card, fp32, verify=False)
    report = export_onnx_with_report(generator, card, ort_int8, precision="int8", **common)
    print(f"onnxruntime int8 on the calibration photos: {report.calibration}")
    report = export_onnx_with_report(
        generator, card, ov_int8, precision="int8", output_format="openvino", **common
    )
    print(f"openvino int8 on the calibration photos: {report.calibration} ({report.seconds:.0f} s)")
    batch = args.batch_size

    def torch_path(precision: str, size: int) -> Callable[[], Translator]:
        return lambda: Translator(
            TorchBackend(copy.deepcopy(generator), card, device="cpu", precision=precision), batch_size=size
        )

    def ov_path(model: Path, precision: str, bf16: bool = True) -> Callable[[], Translator]:
        features = cpu_features()
        if not bf16:  # what a CPU without native bf16 runs: the float parts of int8 models in f32
            features = dataclasses.replace(features, flags=features.flags - set(BF16_FLAGS))
        return lambda: Translator(
            OpenVinoBackend(model, precision=precision, mode="throughput", features=features),
            batch_size=batch,
        )

    return {
        PATHS[0]: torch_path("fp32", 1),
        PATHS[1]: lambda: Translator(OnnxBackend(fp32, device="cpu"), batch_size=batch),
        PATHS[2]: lambda: Translator(OnnxBackend(ort_int8, device="cpu"), batch_size=batch),
        PATHS[3]: torch_path("bf16", batch),
        PATHS[4]: ov_path(fp32, "fp32"),
        PATHS[5]: ov_path(fp32, "bf16"),
        PATHS[6]: ov_path(ov_int8, "int8"),
        PATHS[7]: ov_path(ov_int8, "int8", bf16=False),
    }


def run_set(
    title: str, images: list[np.ndarray], paths: dict[str, Callable[[], Translator]], repeats: int
) -> None:
    measures = {name: Measure() for name in paths}
    for round_index in range(repeats):
        order = list(paths) if round_index % 2 == 0 else list(reversed(paths))
        for name in order:
            translator = paths[name]()
            speed, rss, pictures = time_path(translator, images, one_by_one=name == PATHS[0])
            m = measures[name]
            if speed > m.speed:
                m.speed, m.pictures = speed, pictures
            m.rss = max(m.rss, rss)
            del translator
    reference = measures[PATHS[0]]
    print(f"\n{title}")
    width = max(len(n) for n in paths)
    print(f"{'path':<{width}}  {'images/s':>8}  {'x ref':>6}  {'+RSS':>8}  quality vs fp32 pictures")
    for name, m in measures.items():
        ratio = m.speed / reference.speed
        note = quality(m.pictures, reference.pictures)
        print(f"{name:<{width}}  {m.speed:8.3f}  {ratio:6.2f}  {m.rss:6.2f} GB  {note}")


def _ort_child(model: Path, batch: int, arena: str, images: list[np.ndarray]) -> tuple[float, float]:
    """In a fresh process: (images/s, peak RSS GB) of ONNX Runtime on ``images``; ``arena``: ``on``
    (ONNX Runtime's default, growing by powers of two), ``exact`` (grows by what is asked) or ``off``."""
    import onnxruntime as ort

    from i2i.infer import translator

    translator.MAX_BATCH_PIXELS = 1 << 40  # the batch asked for, whatever the image size
    backend = OnnxBackend(model, device="cpu")
    if arena != "on":
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if arena == "off":
            options.enable_cpu_mem_arena = False
        else:  # a process-wide arena that grows by what is asked (this process runs one session)
            memory = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            ort.create_and_register_allocator(memory, ort.OrtArenaCfg({"arena_extend_strategy": 1}))
            options.add_session_config_entry("session.use_env_allocators", "1")
        backend.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    speed, _, _ = time_path(Translator(backend, batch_size=batch), images, one_by_one=False)
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec
    status = Path("/proc/self/status").read_text().splitlines()
    return speed, next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1e6


def _float_ops(model: Path, work: Path) -> str:
    """Op types of ONNX Runtime's optimised graph of ``model`` (what runs in int8 and what in float)."""
    import collections

    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(work / "optimized.onnx")
    ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    counts = collections.Counter(n.op_type for n in onnx.load(str(work / "optimized.onnx")).graph.node)
    return ", ".join(f"{op} {n}" for op, n in counts.most_common())


def ort_memory_study(work: Path, large: list[np.ndarray]) -> None:
    """ONNX Runtime fp32 and int8 at the large size: batch 4 vs 1, memory arena on vs off, each in a
    fresh process (so the peak RSS is that configuration's alone); and the int8 graph ONNX Runtime runs."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    height, width = large[0].shape[:2]
    print(f"\nONNX Runtime, {len(large)} photos of {width}x{height}, each setting in a fresh process")
    print("  model       batch  arena  images/s  peak RSS")
    context = multiprocessing.get_context("spawn")
    for model in ("fp32.onnx", "int8.onnx"):
        for batch, arena in ((4, "on"), (1, "on"), (4, "exact"), (4, "off"), (1, "off")):
            with ProcessPoolExecutor(1, mp_context=context) as pool:
                speed, rss = pool.submit(_ort_child, work / model, batch, arena, large).result()
            print(f"  {model:<10}  {batch:>5}  {arena:>5}  {speed:8.3f}  {rss:5.2f} GB")
    print(f"  int8 graph after ONNX Runtime's optimisation: {_float_ops(work / 'int8.onnx', work)}")


class CompiledBackend:
    """An OpenVINO compiled model as a :class:`~i2i.infer.backends.Backend` (for the remedies study)."""

    name = "openvino compiled model"

    def __init__(self, compiled: Any, card: ModelCard) -> None:
        self.compiled, self.card = compiled, card

    def run(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.compiled(batch)[0], dtype=np.float32)


REMEDIES: dict[str, Int8Settings] = {
    "NNCF defaults (performance, fast bias correction)": Int8Settings("performance", False, True, 32),
    "mixed (asymmetric activations)": Int8Settings("mixed", False, True, 32),
    "mixed + first/last conv in float": Int8Settings("mixed", True, True, 32),
    "mixed + first/last + full bias correction": Int8Settings("mixed", True, False, 32),
    "performance + first/last + full bias correction": Int8Settings("performance", True, False, 32),
    "mixed + first/last + full bias correction, 64 images": Int8Settings("mixed", True, False, 64),
}


def int8_remedies(args: argparse.Namespace, work: Path, photos: list[np.ndarray]) -> None:
    """PSNR against fp32 of NNCF int8 under each setting of :data:`REMEDIES`, on the measured photos."""
    import openvino as ov

    from i2i.export.openvino_ir import quantize_openvino_int8
    from i2i.export.quantize import load_calibration_images
    from i2i.infer.openvino import read_openvino_model

    fp32 = Translator(work / "fp32.onnx", backend="openvino", precision="fp32")
    reference = fp32.translate_batch(photos)
    card = fp32.card
    images = load_calibration_images(
        args.calibrate, channels=card.in_channels, side=args.calibrate_size, max_images=64
    )
    print(f"\nNNCF int8 remedies ({len(photos)} photos; weights per channel in every setting)")
    for name, settings in REMEDIES.items():
        model, _ = read_openvino_model(work / "fp32.onnx")
        start = time.perf_counter()
        quantized = quantize_openvino_int8(model, images, card, settings)
        seconds = time.perf_counter() - start
        compiled = ov.Core().compile_model(quantized, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        pictures = Translator(CompiledBackend(compiled, card), batch_size=1).translate_batch(photos)
        print(f"  {name:<55} {quality(pictures, reference)}  ({seconds:.0f} s)")


def large_photos(args: argparse.Namespace, photos: list[np.ndarray]) -> list[np.ndarray]:
    """The first ``--large`` photos upscaled (bicubic) to ``--large-size``."""
    width, height = (int(v) for v in args.large_size.split("x"))
    return [cv2.resize(p, (width, height), interpolation=cv2.INTER_CUBIC) for p in photos[: args.large]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data = Path("/work/shared/datasets/horse2zebra")
    parser.add_argument("--model", type=Path, required=True, help=".safetensors / checkpoint / run dir")
    parser.add_argument("--direction", help="a2b or b2a for files with both generators")
    parser.add_argument("--photos", type=Path, default=data / "testA", help="photos to translate")
    parser.add_argument("--calibrate", type=Path, default=data / "trainA", help="int8 calibration photos")
    parser.add_argument("--calibrate-size", type=int, default=256, help="calibration crop side")
    parser.add_argument(
        "--calibrate-count",
        type=int,
        default=16,
        help="calibration photos (ONNX Runtime's percentile calibration holds every activation of every "
        "photo in memory: about 0.5 GB per 256 px photo for resnet_9blocks)",
    )
    parser.add_argument("--count", type=int, default=16, help="photos at their own size")
    parser.add_argument("--large", type=int, default=2, help="photos upscaled to --large-size")
    parser.add_argument("--large-size", default="1024x768", help="WIDTHxHEIGHT")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1, help="rounds per image set; the best is kept")
    parser.add_argument("--skip", default="", help="comma-separated path numbers (1-8) to leave out")
    parser.add_argument("--ort-memory", action="store_true", help="also the ONNX Runtime large-photo study")
    parser.add_argument("--remedies", action="store_true", help="only the NNCF int8 settings study")
    parser.add_argument("--ort-memory-only", action="store_true", help="only the ONNX Runtime study")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # the quantisers log a line per tensor

    features = cpu_features()
    print(f"CPU: {features.describe()}")
    print(f"native bf16: {features.native_bf16}; int8 dot products: {features.native_int8}")
    print(
        f"torch CPU capability: {torch.backends.cpu.get_cpu_capability()}; threads {torch.get_num_threads()}"
    )
    work = Path(tempfile.mkdtemp(prefix="i2i_bench_"))
    try:
        photos = [read_image(p, 3) for p in list_images(args.photos)[: args.count]]
        if args.ort_memory_only:
            generator, card = load_generator(args.model, direction=args.direction)
            calibration = work / "calibration"
            calibration.mkdir()
            for source in list_images(args.calibrate)[: args.calibrate_count]:
                (calibration / source.name).symlink_to(source.resolve())
            export_onnx_with_report(generator, card, work / "fp32.onnx", verify=False)
            export_onnx_with_report(
                generator,
                card,
                work / "int8.onnx",
                precision="int8",
                calibration_images=calibration,
                calibration_size=args.calibrate_size,
                verify=False,
            )
            ort_memory_study(work, large_photos(args, photos))
            return
        if args.remedies:
            generator, card = load_generator(args.model, direction=args.direction)
            export_onnx_with_report(generator, card, work / "fp32.onnx", verify=False)
            int8_remedies(args, work, photos)
            return
        paths = build_paths(args, work)
        skip = {PATHS[int(i) - 1] for i in args.skip.split(",") if i.strip()}
        if not features.native_bf16:
            print(f"{PATHS[5]}: left out, this CPU has no native bf16")
            skip.add(PATHS[5])
        paths = {k: v for k, v in paths.items() if k not in skip or k == PATHS[0]}
        large = large_photos(args, photos)
        width, height = (int(v) for v in args.large_size.split("x"))
        h, w = photos[0].shape[:2]
        run_set(f"{len(photos)} photos of {w}x{h}, batch {args.batch_size}", photos, paths, args.repeats)
        folder = work / "photos"
        folder.mkdir()
        for source in list_images(args.photos)[: args.count]:
            (folder / source.name).symlink_to(source.resolve())
        fastest_float = next(name for name in (PATHS[5], PATHS[4], PATHS[0]) if name in paths)
        pipeline_check(paths[fastest_float], folder, work / "out", photos)
        if large:
            title = f"{len(large)} photos upscaled to {width}x{height}, batch {args.batch_size}"
            run_set(title, large, paths, 1)
            if args.ort_memory:
                ort_memory_study(work, large)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
