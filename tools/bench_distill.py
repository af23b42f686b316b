"""Benchmark a teacher and its distilled students on the same photos, in one run.

For each generator: parameters, GFLOP per image at ``--size`` (2 x the multiply-adds of its
convolutions, counted by forward hooks), images/s with ONNX Runtime fp32 (and int8 with ``--int8``,
static QDQ calibrated on ``--calibrate`` photos, never on the measured ones) on this CPU, the ratio to
the teacher's images/s on the same path, and the student's PSNR / SSIM against the teacher's fp32
pictures (what distillation aims at; the teacher's row is the baseline). Times are end to end through
:class:`~i2i.infer.Translator` (uint8 pixels in and out). ``--repeats`` rounds alternate the order of
the models and keep each one's best round (the machine is shared).

Example::

    python tools/bench_distill.py --teacher runs/horse2zebra --direction a2b \\
        --students runs/distill_mobile16 runs/distill_resnet16 --photos datasets/horse2zebra/testA
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from i2i.data.io import list_images, read_image
from i2i.export.onnx import export_onnx_with_report
from i2i.infer import OnnxBackend, Translator
from i2i.metrics.paired import psnr, ssim
from i2i.weights import load_generator


def conv_gflop(generator: nn.Module, size: int, channels: int = 3) -> float:
    """GFLOP (2 x multiply-adds) of the convolutions of one ``size`` x ``size`` image."""
    macs = [0]

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        assert isinstance(module, nn.Conv2d | nn.ConvTranspose2d)
        k = module.kernel_size[0] * module.kernel_size[1]
        if isinstance(module, nn.ConvTranspose2d):  # each input pixel scatters into every output channel
            macs[0] += inputs[0][0].numel() * module.out_channels // module.groups * k
        else:  # each output pixel gathers from in_channels / groups inputs
            macs[0] += output[0].numel() * module.in_channels // module.groups * k

    convs = [m for m in generator.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    hooks = [m.register_forward_hook(count) for m in convs]
    with torch.no_grad():
        generator(torch.zeros(1, channels, size, size))
    for hook in hooks:
        hook.remove()
    return 2 * macs[0] / 1e9


@dataclass
class Model:
    name: str
    params: int
    gflop: float
    onnx: dict[str, Path] = field(default_factory=dict)
    speed: dict[str, float] = field(default_factory=dict)  # precision -> images/s, best round
    pictures: dict[str, list[np.ndarray]] = field(default_factory=dict)


def images_per_second(model: Path, photos: list[np.ndarray], batch: int) -> tuple[float, list[np.ndarray]]:
    translator = Translator(OnnxBackend(model, device="cpu"), batch_size=batch)
    translator.translate(photos[0])  # warm-up
    start = time.perf_counter()
    pictures = translator.translate_batch(photos)
    return len(photos) / (time.perf_counter() - start), pictures


def fidelity(pictures: list[np.ndarray], reference: list[np.ndarray]) -> tuple[float, float, float]:
    """(mean PSNR dB, worst PSNR dB, mean SSIM) of ``pictures`` against ``reference``."""
    fake = torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).float() / 127.5 - 1
    real = torch.from_numpy(np.stack(reference)).permute(0, 3, 1, 2).float() / 127.5 - 1
    per_image = psnr(fake, real)
    return float(per_image.mean()), float(per_image.min()), float(ssim(fake, real).mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teacher", type=Path, required=True, help="run dir, checkpoint or .safetensors")
    parser.add_argument("--direction", default=None, help="the teacher's generator (a2b / b2a)")
    parser.add_argument("--students", type=Path, nargs="+", required=True, help="distillation runs")
    parser.add_argument("--photos", type=Path, required=True, help="photos to translate (source domain)")
    parser.add_argument("--count", type=int, default=32, help="photos measured")
    parser.add_argument("--size", type=int, default=256, help="photos are resized to size x size")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="rounds; each model's best is kept")
    parser.add_argument("--int8", action="store_true", help="also ONNX Runtime int8 (static QDQ)")
    parser.add_argument("--calibrate", type=Path, default=None, help="int8 calibration photos")
    parser.add_argument("--calibrate-count", type=int, default=16)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser logs a line per tensor

    print(f"torch threads {torch.get_num_threads()}; ONNX Runtime CPU, batch {args.batch_size}")
    photos = [
        cv2.resize(read_image(p, 3), (args.size, args.size), interpolation=cv2.INTER_AREA)
        for p in list_images(args.photos)[: args.count]
    ]
    precisions = ["fp32", "int8"] if args.int8 else ["fp32"]
    work = Path(tempfile.mkdtemp(prefix="i2i_bench_distill_"))
    try:
        calibration = work / "calibration"
        if args.int8:
            calibration.mkdir()
            for source in list_images(args.calibrate)[: args.calibrate_count]:
                (calibration / source.name).symlink_to(source.resolve())
        models: list[Model] = []
        for k, source in enumerate([args.teacher, *args.students]):
            generator, card = load_generator(source, direction=args.direction if k == 0 else None)
            width = card.kwargs.get("base_channels", "?")
            name = f"{'teacher' if k == 0 else 'student'} {card.arch} base {width}"
            m = Model(name, sum(p.numel() for p in generator.parameters()), conv_gflop(generator, args.size))
            for precision in precisions:
                m.onnx[precision] = work / f"{k}_{precision}.onnx"
                extra = (
                    {"calibration_images": calibration, "calibration_size": args.size}
                    if precision == "int8"
                    else {}
                )
                export_onnx_with_report(
                    generator, card, m.onnx[precision], precision=precision, verify=False, **extra
                )
            models.append(m)
        for round_index in range(args.repeats):
            order = models if round_index % 2 == 0 else models[::-1]
            for m in order:
                for precision in precisions:
                    speed, pictures = images_per_second(m.onnx[precision], photos, args.batch_size)
                    if speed > m.speed.get(precision, 0.0):
                        m.speed[precision], m.pictures[precision] = speed, pictures
        teacher = models[0]
        reference = teacher.pictures["fp32"]
        print(
            f"\n{len(photos)} photos of {args.photos} at {args.size}x{args.size}, best of {args.repeats} rounds"
        )
        header = f"{'model':<36} {'params':>10} {'GFLOP':>7} {'x fewer':>7}"
        for precision in precisions:
            header += f" {precision + ' img/s':>11} {'x teacher':>9}"
        print(header + "  vs teacher fp32: PSNR mean (min), SSIM")
        print(
            "(x fewer: the teacher's GFLOP over the model's; x teacher: images/s over the teacher's fp32 images/s)"
        )
        for m in models:
            row = f"{m.name:<36} {m.params:>10,} {m.gflop:7.2f} {teacher.gflop / m.gflop:7.1f}"
            for precision in precisions:
                row += f" {m.speed[precision]:11.2f} {m.speed[precision] / teacher.speed['fp32']:9.2f}"
            if m is teacher:
                print(row + "  baseline")
                continue
            mean, worst, mean_ssim = fidelity(m.pictures["fp32"], reference)
            print(row + f"  {mean:5.1f} dB ({worst:5.1f}), {mean_ssim:.4f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
