"""Benchmark the training fast paths of pix2pix, CycleGAN, CUT and FastCUT against plain fp32 eager
training, and the methods against CycleGAN, in one run.

For each method (pix2pix: unet_256 + 70x70 PatchGAN with batch norm; CycleGAN: resnet_9blocks + PatchGAN
with instance norm; CUT and FastCUT: one anti-aliased resnet_9blocks + PatchGAN + PatchNCE heads, the
``horse2zebra_cut`` / ``horse2zebra_fastcut`` recipes; all at 256 x 256 by default) every variant runs
the real training step
(``Method.training_step`` under the trainer's autocast and grad scaler, with the trainer's fast-path
helpers) on one fixed in-memory batch, so data loading is not measured. Each variant runs in a fresh
process (peak memory is per variant): ``--warmup`` steps (compilation, cuDNN autotuning), then ``--steps``
timed steps. Printed: iterations/s, images/s, the ratio of images/s to the fp32 eager baseline of the
same method, and peak memory (``torch.cuda.max_memory_allocated`` on a GPU; the process's peak resident
set, ``ru_maxrss``, on the CPU, which includes torch itself).

Variants: ``fp32 eager`` (for-loop Adam: torch's CPU default), each fast path alone, and ``auto`` (what
``"auto"`` resolves to on the device, with bf16 autocast). ``device augment`` adds the batch
augmentation (crop 286 -> 256 px scale, flip, colour jitter) to the step. ``torch.compile`` takes minutes
on a CPU and is left out there unless ``--compile``; fp16 and cuDNN autotuning are CUDA-only.

When CycleGAN is among ``--methods``, a last table compares every method's fp32 eager step with
CycleGAN's at the same size: s/iter and peak memory, and their ratios (the CUT paper reports, on a GPU,
0.24 vs 0.40 s/iter and 3.3 vs 4.8 GB for CUT, 0.15 s/iter and 2.3 GB for FastCUT). On the CPU the
memory column there is the peak RSS growth during the run (training tensors), beside the total.

Example::

    python tools/bench_train.py                                   # 256 px, batch 1, on CUDA if present
    python tools/bench_train.py --device cpu --size 128 --base-channels 32 --steps 3 --warmup 1
    python tools/bench_train.py --device cuda --batch-size 8 --steps 50
    python tools/bench_train.py --methods cyclegan cut fastcut --variants "fp32 eager"  # CUT vs CycleGAN
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import math
import multiprocessing
import resource
import sys
import time
from typing import Any

import torch

VARIANTS: tuple[str, ...] = (
    "fp32 eager",
    "fused adam",
    "foreach adam",
    "channels_last",
    "bf16",
    "fp16",
    "compile",
    "cudnn benchmark",
    "device augment",
    "auto",
)
CUDA_ONLY = ("fp16", "cudnn benchmark")
METHODS: dict[str, str] = {  # method -> the bundled recipe it is measured with
    "pix2pix": "facades",
    "cyclegan": "horse2zebra",
    "cut": "horse2zebra_cut",
    "fastcut": "horse2zebra_fastcut",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    method: str
    variant: str
    device: str
    size: int
    batch_size: int
    base_channels: int
    steps: int
    warmup: int
    compile_mode: str


@dataclasses.dataclass(frozen=True)
class Result:
    seconds_per_step: float
    peak_mb: float
    losses_finite: bool
    growth_mb: float = 0.0  # CPU: peak RSS growth from before the method was built


def _recipe(s: Settings) -> Any:
    from i2i.config import load_recipe

    unet = "unet_256" if s.size % 256 == 0 else "unet_128"  # the pix2pix U-Net that fits the size
    overrides = [
        "data.layout=synthetic_paired" if s.method == "pix2pix" else "data.layout=synthetic_unpaired",
        f"data.load_size={s.size}",
        f"data.crop_size={s.size}",
        f"model.generator.base_channels={s.base_channels}",
        f"model.discriminator.base_channels={s.base_channels}",
        f"train.batch_size={s.batch_size}",
        f"train.device={s.device}",
    ]
    if s.method == "pix2pix":
        overrides.append(f"model.generator.name={unet}")
    return load_recipe(METHODS[s.method], overrides)


def _fast_paths(s: Settings, recipe: Any, device: torch.device) -> tuple[Any, str]:
    from i2i.train.accelerate import FastPaths, resolve_fast_paths

    plain = FastPaths(adam="for_loop")
    v = s.variant
    if v == "auto":
        auto = resolve_fast_paths(recipe.train, device)
        precision = "bf16" if device.type != "cuda" or torch.cuda.is_bf16_supported() else "fp16"
        return dataclasses.replace(auto, compile_mode=s.compile_mode), precision
    table: dict[str, tuple[Any, str]] = {
        "fp32 eager": (plain, "fp32"),
        "fused adam": (dataclasses.replace(plain, adam="fused"), "fp32"),
        "foreach adam": (dataclasses.replace(plain, adam="foreach"), "fp32"),
        "channels_last": (dataclasses.replace(plain, channels_last=True), "fp32"),
        "bf16": (plain, "bf16"),
        "fp16": (plain, "fp16"),
        "compile": (dataclasses.replace(plain, compile=True, compile_mode=s.compile_mode), "fp32"),
        "cudnn benchmark": (dataclasses.replace(plain, cudnn_benchmark=True), "fp32"),
        "device augment": (plain, "fp32"),
    }
    return table[v]


def run_variant(s: Settings) -> Result:
    """Time one variant (in its own process)."""
    from i2i.data.gpu_transforms import BatchAugment
    from i2i.methods import Batch, create_method
    from i2i.train.accelerate import apply_fast_paths, cudnn_benchmark, prepare_batch

    torch.manual_seed(0)
    device = torch.device(s.device)
    recipe = _recipe(s)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    fast, precision = _fast_paths(s, recipe, device)
    method = create_method(recipe).to(device).train()
    apply_fast_paths(method, fast)
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    method.scaler = scaler
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    augment = None
    source = s.size
    if s.variant in ("device augment", "auto"):
        augment = BatchAugment(crop_size=s.size, flip=True, color_jitter=0.1, paired=s.method == "pix2pix")
        source = 4 * round(s.size * 286 / 256 / 4)  # the reference's load_size 286 for a 256 crop
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(s.batch_size, 3, source, source, generator=g) * 2 - 1).to(device)
    b = (torch.rand(s.batch_size, 3, source, source, generator=g) * 2 - 1).to(device)
    finite = True

    def step(i: int) -> None:
        nonlocal finite
        batch = prepare_batch(Batch(a=a, b=b), augment=augment, seed=i, channels_last=fast.channels_last)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            losses = method.training_step(batch).losses
        if scaler is not None:
            scaler.update()
        finite = finite and all(math.isfinite(float(v)) for v in losses.values())  # a sync, as the trainer

    with cudnn_benchmark(fast.cudnn_benchmark):
        for i in range(s.warmup):
            step(i)
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for i in range(s.steps):
            step(s.warmup + i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / s.steps
    if device.type == "cuda":
        peak = growth = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
        growth = peak - start_rss
    return Result(seconds_per_step=seconds, peak_mb=peak, losses_finite=finite, growth_mb=growth)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--methods", nargs="+", default=["pix2pix", "cyclegan", "cut", "fastcut"], choices=list(METHODS)
    )
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--size", type=int, default=256, help="crop size (multiple of 128; 256 is standard)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--base-channels", type=int, default=64, help="network width (64 is standard)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation, autotuning)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile on the CPU (slow)")
    parser.add_argument("--compile-mode", default="default")
    args = parser.parse_args()

    device = torch.device(args.device)
    variants = [v for v in args.variants if device.type == "cuda" or v not in CUDA_ONLY]
    if device.type != "cuda" and not args.compile:
        variants = [v for v in variants if v != "compile"]
    if "fp32 eager" not in variants:
        variants.insert(0, "fp32 eager")
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"torch {torch.__version__} on {name}")
    print(
        f"{args.size} x {args.size} px, batch {args.batch_size}, base_channels {args.base_channels}, "
        f"{args.warmup} warm-up + {args.steps} timed steps per variant, each in a fresh process"
    )
    memory = "peak alloc MB" if device.type == "cuda" else "peak RSS MB"
    context = multiprocessing.get_context("spawn")
    eager: dict[str, Result] = {}  # method -> its fp32 eager result, for the comparison with CycleGAN
    for method in args.methods:
        print(f"\n{method}")
        print(f"  {'variant':<16} {'it/s':>8} {'img/s':>8} {'vs fp32':>8} {memory:>14}")
        baseline: float | None = None
        for variant in variants:
            settings = Settings(
                method, variant, args.device, args.size, args.batch_size, args.base_channels,
                args.steps, args.warmup, args.compile_mode,
            )  # fmt: skip
            with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                try:
                    result = pool.submit(run_variant, settings).result()
                except Exception as error:  # a variant this machine cannot run: report and go on
                    print(
                        f"  {variant:<16} failed: {type(error).__name__}: {str(error).splitlines()[0][:80]}"
                    )
                    continue
            if variant == "fp32 eager":
                eager[method] = result
            its = 1 / result.seconds_per_step
            images = its * args.batch_size
            baseline = baseline or images
            flag = "" if result.losses_finite else "  (non-finite loss)"
            print(
                f"  {variant:<16} {its:>8.3f} {images:>8.3f} {images / baseline:>7.2f}x {result.peak_mb:>14.0f}{flag}"
            )
    if "cyclegan" in eager and len(eager) > 1:
        _compare_with_cyclegan(eager, cuda=device.type == "cuda")


def _compare_with_cyclegan(eager: dict[str, Result], *, cuda: bool) -> None:
    """Print each method's fp32 eager s/iter and memory beside CycleGAN's, with the ratios."""
    base = eager["cyclegan"]
    memory = "peak alloc MB" if cuda else "RSS growth MB"
    print("\nagainst CycleGAN (fp32 eager, same size and batch)")
    print(f"  {'method':<10} {'s/iter':>8} {'speed-up':>9} {memory:>14} {'memory':>7} {'peak RSS MB':>12}")
    for method, result in eager.items():
        speed = base.seconds_per_step / result.seconds_per_step
        share = result.growth_mb / base.growth_mb if base.growth_mb > 0 else math.nan
        print(
            f"  {method:<10} {result.seconds_per_step:>8.3f} {speed:>8.2f}x {result.growth_mb:>14.0f} "
            f"{share:>6.2f}x {result.peak_mb:>12.0f}"
        )


if __name__ == "__main__":
    main()
