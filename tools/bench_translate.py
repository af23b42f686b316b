"""Benchmark the translation paths on the same images and the same generator, in one run.

Measures, on ``--count`` generated photos of ``--size`` pixels (or your ``--model``):

1. ONNX Runtime fp32 vs PyTorch eager fp32, model only (images/s);
2. the full folder pipeline (decode + infer + encode, from and to disk) vs model-only throughput of the
   same ONNX Runtime session: the pipeline must keep at least 90% (PASS / FAIL);
3. ONNX Runtime int8 (static QDQ, calibrated on the same images) vs fp32: speed and PSNR of the int8
   pictures against the fp32 pictures;
4. PyTorch bf16 autocast vs fp32: speed and mean absolute error in [-1, 1] units.

Model-only timings run on images already decoded and prepared, in batches of ``--batch-size``, after
one warm-up batch. Each path is timed ``--repeats`` times and the best run is kept (the machine is
shared; the best run is the least disturbed one).

Example::

    python tools/bench_translate.py                       # resnet_9blocks, base 64, 16 x 256 px, CPU
    python tools/bench_translate.py --device cuda --count 64 --size 512
    python tools/bench_translate.py --model runs/horse2zebra --size 512
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from i2i.card import describe_generator
from i2i.data.io import read_image, write_image
from i2i.export.onnx import export_onnx
from i2i.infer import OnnxBackend, TorchBackend, Translator
from i2i.infer.backends import Backend
from i2i.infer.pipeline import translate_folder
from i2i.nn import create_generator
from i2i.weights import load_generator


def synthetic_photos(folder: Path, count: int, size: int, seed: int = 0) -> list[Path]:
    """Smooth colour fields with shapes and sensor-like noise, saved as JPEG (what users bring)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    paths = []
    for i in range(count):
        phases = rng.uniform(0, 2 * np.pi, 3)
        image = np.stack([np.sin(4 * xx + 3 * yy * (c + 1) + phases[c]) for c in range(3)], axis=2)
        image = (image * 0.5 + 0.5) * 255
        for _ in range(6):
            center = tuple(int(v) for v in rng.integers(0, size, 2))
            color = tuple(float(v) for v in rng.integers(0, 256, 3))
            cv2.circle(image, center, int(rng.integers(size // 16, size // 4)), color, -1)
        image += rng.normal(0, 4, image.shape)
        path = folder / f"photo_{i:04d}.jpg"
        write_image(path, np.clip(image, 0, 255).astype(np.uint8), quality=92)
        paths.append(path)
    return paths


def model_only(backend: Backend, batches: list[np.ndarray], repeats: int) -> tuple[float, list[np.ndarray]]:
    """Best images/s over ``repeats`` passes over prepared batches (after one warm-up batch)."""
    backend.run(batches[0])
    best, outputs = 0.0, list[np.ndarray]()
    for _ in range(repeats):
        speed, outputs = model_pass(backend, batches)
        best = max(best, speed)
    return best, outputs


def model_pass(backend: Backend, batches: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """Images/s of one pass over prepared batches, and the outputs."""
    start = time.perf_counter()
    outputs = [backend.run(batch) for batch in batches]
    return sum(len(b) for b in batches) / (time.perf_counter() - start), outputs


def pipeline_pass(translator: Translator, src: Path, dst: Path, workers: int | None) -> float:
    """Images/s of the full folder pipeline into a fresh folder."""
    shutil.rmtree(dst, ignore_errors=True)
    summary = translate_folder(translator, src, dst, workers=workers)
    if summary.failed:
        raise RuntimeError(f"pipeline failed on {summary.failed[0].path}: {summary.failed[0].reason}")
    return summary.images_per_second


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of uint8 pictures ``a`` against ``b``."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="resnet_9blocks", help="generator for the random model")
    parser.add_argument("--base-channels", type=int, default=64)
    parser.add_argument("--model", type=Path, help="a .safetensors file / checkpoint / run dir instead")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--count", type=int, default=16, help="number of images")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (both runtimes)")
    parser.add_argument("--workers", type=int, help="pipeline reader / writer threads (each)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per path; the best is kept")
    parser.add_argument("--skip-int8", action="store_true")
    parser.add_argument("--skip-bf16", action="store_true")
    parser.add_argument("--min-psnr", type=float, default=30.0, help="int8 acceptable at or above (dB)")
    parser.add_argument("--max-bf16-error", type=float, default=0.02, help="bf16 acceptable at or below")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # the int8 quantiser logs a warning per bias tensor

    work = Path(tempfile.mkdtemp(prefix="i2i_bench_"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    torch.manual_seed(0)
    if args.model is not None:
        generator, card = load_generator(args.model)
        what = f"{args.model} ({card.arch})"
    else:  # Kaiming init: outputs spread over the whole range, so int8 / bf16 errors are not flattered
        generator = create_generator(args.arch, base_channels=args.base_channels, init="kaiming").eval()
        card = describe_generator(generator, arch=args.arch, kwargs={}, method="random")
        what = f"{args.arch}, base {args.base_channels}, random (Kaiming)"
    photos = work / "photos"
    synthetic_photos(photos, args.count, args.size)
    print(f"model: {what}; {args.count} JPEG images of {args.size}x{args.size}; batch {args.batch_size}")
    print(f"device: {args.device}; {os.cpu_count()} CPU cores; torch threads {torch.get_num_threads()}")

    fp32_path = work / "model.onnx"
    export_onnx(generator, card, fp32_path, verify=False)
    onnx_fp32 = OnnxBackend(fp32_path, device=args.device)
    torch_fp32 = TorchBackend(generator, card, device=args.device)
    translator = Translator(onnx_fp32, batch_size=args.batch_size)
    prepared = [translator.prepare(read_image(p)) for p in sorted(photos.iterdir())]
    batches = [
        np.stack([p.array for p in prepared[i : i + args.batch_size]])
        for i in range(0, len(prepared), args.batch_size)
    ]

    def pictures(outputs: list[np.ndarray]) -> list[np.ndarray]:
        flat = [o for batch in outputs for o in batch]
        return [translator.finish(p, o) for p, o in zip(prepared, flat, strict=True)]

    rows: list[tuple[str, float, str]] = []
    # Model only and pipeline alternate on the same session, so a busy spell on the machine hits both.
    onnx_fp32.run(batches[0])
    ort_speed = pipe_speed = 0.0
    ort_out: list[np.ndarray] = []
    for _ in range(args.repeats):
        speed, ort_out = model_pass(onnx_fp32, batches)
        ort_speed = max(ort_speed, speed)
        pipe_speed = max(pipe_speed, pipeline_pass(translator, photos, work / "out", args.workers))
    rows.append((f"onnxruntime fp32 ({onnx_fp32.session.get_providers()[0]})", ort_speed, "reference"))
    torch_speed, torch_out = model_only(torch_fp32, batches, args.repeats)
    torch_error = max(float(np.abs(a - b).max()) for a, b in zip(ort_out, torch_out, strict=True))
    rows.append((f"pytorch fp32 ({torch_fp32.device})", torch_speed, f"max |diff| vs ORT {torch_error:.1e}"))

    pipe_ratio = pipe_speed / ort_speed
    verdict = "PASS" if pipe_ratio >= 0.9 else "FAIL"
    rows.append(
        ("pipeline: decode + onnxruntime fp32 + encode", pipe_speed, f"{verdict} (>= 0.90 of model only)")
    )

    acceptable = {"onnxruntime fp32": ort_speed, "pytorch fp32": torch_speed}
    if not args.skip_int8:
        int8_path = work / "model_int8.onnx"
        export_onnx(generator, card, int8_path, precision="int8", calibration_images=photos, verify=False)
        onnx_int8 = OnnxBackend(int8_path, device=args.device)
        int8_speed, int8_out = model_only(onnx_int8, batches, args.repeats)
        quality = float(
            np.mean([psnr(a, b) for a, b in zip(pictures(int8_out), pictures(ort_out), strict=True)])
        )
        rows.append(("onnxruntime int8 (static QDQ)", int8_speed, f"PSNR vs fp32 {quality:.1f} dB"))
        if quality >= args.min_psnr:
            acceptable["onnxruntime int8"] = int8_speed
    if not args.skip_bf16:
        # A copy: bf16 switches the module to channels_last in place.
        torch_bf16 = TorchBackend(copy.deepcopy(generator), card, device=args.device, precision="bf16")
        bf16_speed, bf16_out = model_only(torch_bf16, batches, args.repeats)
        error = float(np.mean([np.abs(a - b).mean() for a, b in zip(bf16_out, torch_out, strict=True)]))
        rows.append(
            (f"pytorch bf16 autocast ({torch_bf16.device})", bf16_speed, f"mean |err| vs fp32 {error:.4f}")
        )
        if error <= args.max_bf16_error:
            acceptable["pytorch bf16"] = bf16_speed

    width = max(len(r[0]) for r in rows)
    print(f"\n{'path':<{width}}  {'images/s':>9}  {'x ORT fp32':>10}  quality")
    for name, speed, note in rows:
        print(f"{name:<{width}}  {speed:>9.2f}  {speed / ort_speed:>10.2f}  {note}")
    print(f"\nonnxruntime vs pytorch fp32: {ort_speed / torch_speed:.2f}x")
    print(f"pipeline vs model only: {pipe_ratio:.2f} -> {verdict}")
    best = max(acceptable, key=lambda k: acceptable[k])
    print(
        f"fastest at acceptable quality (int8 PSNR >= {args.min_psnr} dB, bf16 error <= "
        f"{args.max_bf16_error}): {best} at {acceptable[best]:.2f} images/s"
    )


if __name__ == "__main__":
    main()
