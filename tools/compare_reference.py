"""Train i2i and the reference pytorch-CycleGAN-and-pix2pix side by side and compare their generators.

Both tools train the same architecture with the same hyper-parameters, data, image size and number
of iterations, once per seed; then every generator is evaluated through *one* path, i2i's: the
reference's ``latest_net_G.pth`` is imported with ``i2i import-reference`` (which reproduces its
outputs exactly), and both generators translate the same test inputs with
:class:`i2i.infer.Translator` (eval mode, as ``i2i translate``).

Scores:
  facades (paired, pix2pix labels -> photo): per-image PSNR, SSIM and L1 against the ground truth.
  horse2zebra (unpaired, CycleGAN horse -> zebra): FID / KID against the real test zebras when the
    FID Inception weights are available (``--inception-weights`` or ``$I2I_INCEPTION_WEIGHTS``), else a
    domain-classifier score: the share of translated test horses that a small CNN, trained on the
    real *train* horses vs zebras, calls zebra. The table says which.

Statistics: per tool, the mean ± std over seeds of each seed's test-set score; the difference
``i2i - reference`` with a 95% Welch t interval over the seed scores (seeds are the unit of
replication: training noise between seeds is the variance that matters), and the share of test
images on which i2i scores better, averaged over seeds.

The reference checkout is only read and run in its own directory (``--reference``); nothing of it
is copied into i2i. It needs ``dominate`` installed; ``wandb`` is replaced by an empty stub module.

Examples (CPU, small; ~40-50 min for 3 seeds per tool on 2 busy cores)::

    PYTHONPATH=. python tools/compare_reference.py --reference /tmp/refcode \\
        --data /work/shared/datasets/facades --seeds 0 1 2 --jobs 2 --out /tmp/parity

    # the paper's settings on a GPU: unet_256 at 256 px (load 286), 200 epochs
    PYTHONPATH=. python tools/compare_reference.py --reference ~/pytorch-CycleGAN-and-pix2pix \\
        --data datasets/facades --full --device cuda --seeds 0 1 2 --out runs/parity
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from torch import nn

ROOT = Path(__file__).resolve().parents[1]  # the i2i checkout this script belongs to
sys.path.insert(0, str(ROOT))

from i2i.data import Geometry, build_dataset, to_uint8  # noqa: E402
from i2i.infer import Translator  # noqa: E402
from i2i.metrics.paired import l1, psnr, ssim  # noqa: E402

_SEEDED_REFERENCE = (
    "import random, runpy, sys\n"
    "import numpy, torch\n"
    "seed = int(sys.argv[1])\n"
    "random.seed(seed); numpy.random.seed(seed); torch.manual_seed(seed)\n"
    "sys.argv = ['train.py', *sys.argv[2:]]\n"
    "runpy.run_path('train.py', run_name='__main__')\n"
)


@dataclass(frozen=True)
class Task:
    """What one dataset is trained and scored as."""

    method: str  # i2i method and recipe
    recipe: str
    layout: str
    direction: str  # i2i's a2b / b2a
    ref_model: str  # the reference's --model
    ref_direction: str  # AtoB / BtoA
    ref_generator: str  # file the reference writes for the evaluated direction
    paired: bool


TASKS = {
    "facades": Task("pix2pix", "facades", "aligned", "b2a", "pix2pix", "BtoA", "latest_net_G.pth", True),
    "horse2zebra": Task(
        "cyclegan", "horse2zebra", "unaligned", "a2b", "cycle_gan", "AtoB", "latest_net_G_A.pth", False
    ),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", type=Path, required=True, help="checkout of pytorch-CycleGAN-and-pix2pix")
    p.add_argument("--data", type=Path, required=True, help="dataset root (facades: train/ test/)")
    p.add_argument("--dataset", choices=sorted(TASKS), default="facades")
    p.add_argument("--out", type=Path, required=True, help="work directory (runs, results.json)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--epochs", type=int, default=3, help="epochs at constant lr (facades: 400 iterations each)"
    )
    p.add_argument("--epochs-decay", type=int, default=0, help="epochs of linear lr decay")
    p.add_argument("--size", type=int, default=128, help="crop size (test images are resized to it)")
    p.add_argument("--load-size", type=int, default=None, help="default: size * 286 / 256")
    p.add_argument("--netG", default=None, help="default: unet_128 (facades), resnet_6blocks (horse2zebra)")
    p.add_argument("--ngf", type=int, default=32, help="generator base channels (paper: 64; --full sets 64)")
    p.add_argument(
        "--ndf", type=int, default=32, help="discriminator base channels (paper: 64; --full sets 64)"
    )
    p.add_argument("--max-images", type=int, default=None, help="training images per domain (smoke tests)")
    p.add_argument("--max-test", type=int, default=None, help="test images (smoke tests)")
    p.add_argument("--full", action="store_true", help="paper settings: 256 px, load 286, 100 + 100 epochs")
    p.add_argument("--device", default="cpu", help="cpu or cuda (both tools)")
    p.add_argument("--jobs", type=int, default=1, help="training runs at once")
    p.add_argument("--threads", type=int, default=1, help="torch threads per training run")
    p.add_argument("--inception-weights", default=os.environ.get("I2I_INCEPTION_WEIGHTS"))
    p.add_argument("--skip-train", action="store_true", help="only evaluate the runs already in --out")
    p.add_argument("--tools", nargs="+", choices=["i2i", "reference"], default=["i2i", "reference"])
    p.add_argument(
        "--lockstep",
        type=int,
        default=0,
        metavar="N",
        help="only check the training step: N steps of both tools from the same weights on the same batches",
    )
    p.add_argument(
        "--test-mode",
        choices=["eval", "train"],
        default="eval",
        help="generators at test time: eval (i2i translate: running batch-norm statistics, no dropout) or "
        "train (the reference test.py default without --eval: each image's own statistics, dropout on)",
    )
    args = p.parse_args(argv)
    task = TASKS[args.dataset]
    if args.full:
        args.size, args.load_size, args.epochs, args.epochs_decay = 256, 286, 100, 100
        args.ngf, args.ndf = 64, 64
        args.netG = args.netG or ("unet_256" if task.paired else "resnet_9blocks")
    args.netG = args.netG or ("unet_128" if task.paired else "resnet_6blocks")
    args.load_size = args.load_size or round(args.size * 286 / 256)
    return args


# --- training ---------------------------------------------------------------------------------------


def i2i_command(args: argparse.Namespace, task: Task, seed: int, run: Path) -> list[str]:
    overrides = [
        f"data.root={args.data}",
        f"data.load_size={args.load_size}",
        f"data.crop_size={args.size}",
        "data.num_workers=1",
        f"model.generator.name={args.netG}",
        f"model.generator.base_channels={args.ngf}",
        f"model.discriminator.base_channels={args.ndf}",
        f"train.epochs={args.epochs}",
        f"train.epochs_decay={args.epochs_decay}",
        f"train.seed={seed}",
        f"train.device={args.device}",
        "train.sample_every=1000000",
        "train.checkpoint_every=1000000",
    ]
    if args.max_images:
        overrides.append(f"data.max_images={args.max_images}")
    sets = [x for o in overrides for x in ("--set", o)]
    return [sys.executable, "-m", "i2i", "train", task.recipe, *sets, "--out", str(run), "--no-progress"]


def reference_command(args: argparse.Namespace, task: Task, seed: int, run: Path) -> list[str]:
    options = [
        f"--dataroot={args.data}",
        f"--name=seed{seed}",
        f"--checkpoints_dir={run}",
        f"--model={task.ref_model}",
        f"--direction={task.ref_direction}",
        f"--netG={args.netG}",
        f"--ngf={args.ngf}",
        f"--ndf={args.ndf}",
        f"--load_size={args.load_size}",
        f"--crop_size={args.size}",
        f"--n_epochs={args.epochs}",
        f"--n_epochs_decay={args.epochs_decay}",
        "--num_threads=1",
        "--save_epoch_freq=1",
        "--no_html",
        "--display_freq=1000000",
        "--print_freq=100",
    ]
    if args.max_images:
        options.append(f"--max_dataset_size={args.max_images}")
    return [sys.executable, "-c", _SEEDED_REFERENCE, str(seed), *options]


def train_one(args: argparse.Namespace, task: Task, tool: str, seed: int) -> Path:
    """Train one run unless its generator exists; returns the file or directory to evaluate."""
    run = args.out / f"{tool}_seed{seed}"
    generator = run / "generator.safetensors"
    if generator.exists() or (tool == "i2i" and (run / "DONE").exists()):
        return run if tool == "i2i" else generator
    run.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    start = time.time()
    if tool == "i2i":
        env["PYTHONPATH"] = str(ROOT)
        command, cwd = i2i_command(args, task, seed, run), ROOT
    else:
        stub = args.out / "stubs"
        stub.mkdir(exist_ok=True)
        (stub / "wandb.py").write_text("# stub: the reference imports wandb even when unused\n")
        env["PYTHONPATH"] = str(stub)
        env["CUDA_VISIBLE_DEVICES"] = "" if args.device == "cpu" else env.get("CUDA_VISIBLE_DEVICES", "0")
        command, cwd = reference_command(args, task, seed, run), args.reference
    with (run / "train.log").open("w") as log:
        subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    if tool == "i2i":
        (run / "DONE").write_text(f"{time.time() - start:.0f} s\n")
        return run
    imported = [
        sys.executable, "-m", "i2i", "import-reference", str(run / f"seed{seed}" / task.ref_generator),
        "--arch", args.netG, "--direction", task.direction, "--out", str(generator),
    ]  # fmt: skip
    subprocess.run(imported, env={**env, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True)
    (run / "DONE").write_text(f"{time.time() - start:.0f} s\n")
    return generator


# --- evaluation -------------------------------------------------------------------------------------


def eval_geometry(args: argparse.Namespace, task: Task) -> Geometry:
    """i2i's eval-mode preprocessing at ``--size``: resize to the crop, no flip."""
    return Geometry(
        train=False,
        direction=task.direction,  # type: ignore[arg-type]
        load_size=args.size,
        crop_size=args.size,
        preprocess="resize_and_crop",
        flip=False,
    )


def test_images(args: argparse.Namespace, task: Task) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Test ``(inputs, targets)`` as uint8, resized to ``--size`` by i2i's eval-mode preprocessing."""
    dataset = build_dataset(
        task.layout, str(args.data), "test", eval_geometry(args, task), max_images=args.max_test
    )
    if task.paired:
        items = [dataset[i] for i in range(len(dataset))]  # type: ignore[arg-type]
        return [to_uint8(x["a"]) for x in items], [to_uint8(x["b"]) for x in items]  # type: ignore[arg-type]
    count_a, count_b = len(dataset.paths_a), len(dataset.paths_b)  # type: ignore[attr-defined]
    inputs = [to_uint8(dataset[i]["a"]) for i in range(count_a)]  # type: ignore[arg-type]
    targets = [to_uint8(dataset[i]["b"]) for i in range(count_b)]  # type: ignore[arg-type]
    return inputs, targets


def translate(model: Path, inputs: list[np.ndarray], device: str, test_mode: str) -> list[np.ndarray]:
    """Translate with i2i's Translator; ``test_mode="train"`` imitates the reference's ``test.py``
    without ``--eval``: batch norm normalises each image by its own statistics and dropout stays on
    (batch size 1, running statistics left untouched)."""
    translator = Translator(model, device=device, batch_size=1 if test_mode == "train" else 8)
    if test_mode == "train":
        module: nn.Module = translator.backend.module  # type: ignore[attr-defined]
        module.train()
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.momentum = 0.0  # use the batch's statistics, keep the running ones as they are
    return translator.translate_batch(inputs)


def paired_scores(fakes: list[np.ndarray], reals: list[np.ndarray]) -> dict[str, np.ndarray]:
    fake, real = np.stack(fakes), np.stack(reals)
    return {
        "psnr": psnr(fake, real).numpy(),
        "ssim": ssim(fake, real).numpy(),
        "l1": l1(fake, real).numpy(),
    }


class DomainClassifier:
    """A small CNN trained on the real train split: is this image of the target domain?"""

    def __init__(self, args: argparse.Namespace, task: Task) -> None:
        from torch import nn

        torch.manual_seed(0)
        dataset = build_dataset(task.layout, str(args.data), "train", eval_geometry(args, task))
        a = torch.stack([dataset[i]["a"] for i in range(len(dataset.paths_a))])  # type: ignore[attr-defined,misc]
        b = torch.stack([dataset[i]["b"] for i in range(len(dataset.paths_b))])  # type: ignore[attr-defined,misc]
        x, y = torch.cat([a, b]), torch.cat([torch.zeros(len(a)), torch.ones(len(b))])

        def block(i: int, o: int) -> nn.Module:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

        self.net = nn.Sequential(
            block(3, 16), block(16, 32), block(32, 64), block(64, 64),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1),
        )  # fmt: skip
        opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        for _ in range(5):
            order = torch.randperm(len(x))
            for start in range(0, len(x), 64):
                idx = order[start : start + 64]
                batch = x[idx]
                batch = torch.where(torch.rand(len(idx), 1, 1, 1) < 0.5, batch, batch.flip(3))
                loss = nn.functional.binary_cross_entropy_with_logits(self.net(batch).squeeze(1), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.net.eval()

    @torch.no_grad()
    def target_share(self, images: list[np.ndarray]) -> np.ndarray:
        """Per image: 1 when classified as the target domain, else 0."""
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
        return (self.net(x).squeeze(1) > 0).float().numpy()


def unpaired_scorer(args: argparse.Namespace, task: Task, targets: list[np.ndarray]):  # type: ignore[no-untyped-def]
    """``(name, score(fakes) -> {metric: per-image or per-set values}, higher_is_better)``."""
    if args.inception_weights:
        from i2i.metrics.fid import distribution_scores, extract_features
        from i2i.metrics.inception import load_fid_inception

        net = load_fid_inception(args.inception_weights, device=torch.device("cpu"))
        real = extract_features(net, targets, batch_size=16, device="cpu")

        def fid_kid(fakes: list[np.ndarray]) -> dict[str, np.ndarray]:
            fake = extract_features(net, fakes, batch_size=16, device="cpu")
            scores = distribution_scores(fake, real)
            return {"fid": np.array([scores.fid]), "kid": np.array([scores.kid])}

        return "FID/KID (pytorch-fid Inception) vs real test targets", fid_kid
    classifier = DomainClassifier(args, task)
    hits = float(classifier.target_share(targets).mean())

    def share(fakes: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {"target_share": classifier.target_share(fakes)}

    name = (
        "domain classifier: share of translations classified as the target domain by a small CNN "
        f"trained on the real train split (it classifies {hits:.0%} of the real test targets so)"
    )
    return name, share


# --- lockstep check ---------------------------------------------------------------------------------


def lockstep(args: argparse.Namespace, task: Task, steps: int) -> None:
    """Same initial weights, same batches, ``steps`` training steps in both tools; print the largest
    weight difference after each step. Tiny networks, no dropout and no image pool (the only random
    parts of a step), so any difference is a difference in the training step itself."""
    import contextlib
    import io

    from i2i.export.reference import convert_reference_state_dict
    from i2i.methods import Batch, CycleGAN, Pix2Pix

    stub = args.out / "stubs"
    stub.mkdir(parents=True, exist_ok=True)
    (stub / "wandb.py").write_text("# stub: the reference imports wandb even when unused\n")
    sys.path[:0] = [str(args.reference), str(stub)]
    cwd = os.getcwd()
    os.chdir(args.reference)
    sys.argv = [
        "train.py", "--dataroot=unused", f"--model={task.ref_model}", f"--direction={task.ref_direction}",
        f"--netG={args.netG}", "--ngf=8", "--ndf=8", "--no_dropout", "--pool_size=0",
    ]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        from options.train_options import TrainOptions  # the reference's modules

        opt = TrainOptions().parse()
        opt.device = torch.device("cpu")
        if task.paired:
            from models.pix2pix_model import Pix2PixModel as ReferenceModel
        else:
            from models.cycle_gan_model import CycleGANModel as ReferenceModel
        ref = ReferenceModel(opt)
    os.chdir(cwd)
    ours: Pix2Pix | CycleGAN
    g_kwargs = {"base_channels": 8, "dropout": 0.0, "norm": opt.norm}
    d_kwargs = {"base_channels": 8, "norm": opt.norm}
    common = {"generator": args.netG, "generator_kwargs": g_kwargs, "discriminator_kwargs": d_kwargs}
    if task.paired:
        ours = Pix2Pix(**common, gan_mode=opt.gan_mode, lambda_l1=opt.lambda_L1)
        pairs = [(ref.netG, ours.generator), (ref.netD, ours.discriminator)]
    else:
        ours = CycleGAN(
            generator=args.netG, generator_kwargs=g_kwargs, discriminator_kwargs=d_kwargs, pool_size=0
        )
        # the reference's D_A judges domain B (fake_B = G_A(A)): i2i's d_b
        pairs = [
            (ref.netG_A, ours.g_ab),
            (ref.netG_B, ours.g_ba),
            (ref.netD_A, ours.d_b),
            (ref.netD_B, ours.d_a),
        ]
    for theirs, mine in pairs:
        mine.load_state_dict(convert_reference_state_dict(theirs.state_dict(), mine))
    ours.train()
    rng = torch.Generator().manual_seed(0)
    size = 128 if args.netG == "unet_128" else (256 if args.netG == "unet_256" else 64)
    for step in range(steps):
        a, b = (torch.rand(1, 3, size, size, generator=rng) * 2 - 1 for _ in range(2))  # i2i's a -> b
        ref_a, ref_b = (b, a) if task.ref_direction == "BtoA" else (a, b)  # the reference's files A, B
        ref.set_input({"A": ref_a, "B": ref_b, "A_paths": "", "B_paths": ""})
        ref.optimize_parameters()
        ours.training_step(Batch(a, b))
        worst = 0.0
        for (
            theirs,
            mine,
        ) in pairs:  # weights only: D's running statistics are never used (D stays in train mode)
            mapped = convert_reference_state_dict(theirs.state_dict(), mine)
            for key, value in mine.state_dict().items():
                if "running" not in key and "num_batches" not in key:
                    worst = max(worst, (mapped[key].float() - value.float()).abs().max().item())
        print(f"step {step + 1}: max |weight difference| {worst:.3g}", flush=True)


# --- statistics ---------------------------------------------------------------------------------------

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "l1": False, "fid": False, "kid": False, "target_share": True}


def welch_interval(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """``mean(x) - mean(y)`` and its Welch t interval (needs two values per side)."""
    diff = float(x.mean() - y.mean())
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        return diff, diff, diff
    dof = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    return diff, diff - half, diff + half


def table(results: dict[str, dict[int, dict[str, list[float]]]], metrics: Sequence[str]) -> str:
    tools = list(results)
    lines = [
        "| metric | i2i (mean ± std over seeds) | reference | i2i - reference [95% Welch CI] | "
        "images where i2i better | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for metric in metrics:
        per_seed = {t: np.array([np.mean(v[metric]) for v in results[t].values()]) for t in tools}
        cells = [
            f"{per_seed[t].mean():.4f} ± {per_seed[t].std(ddof=1) if len(per_seed[t]) > 1 else 0:.4f}"
            for t in tools
        ]
        if len(tools) < 2 or min(len(v) for v in per_seed.values()) < 2:
            lines.append(f"| {metric} | {' | '.join(cells)} | (needs 2+ seeds per tool) | | |")
            continue
        diff, low, high = welch_interval(per_seed["i2i"], per_seed["reference"])
        better = HIGHER_IS_BETTER[metric]
        share = "n/a"
        seeds = sorted(set(results["i2i"]) & set(results["reference"]))
        if seeds and len(results["i2i"][seeds[0]][metric]) > 1:
            wins = [
                np.mean(
                    (np.array(results["i2i"][s][metric]) > np.array(results["reference"][s][metric]))
                    if better
                    else (np.array(results["i2i"][s][metric]) < np.array(results["reference"][s][metric]))
                )
                for s in seeds
            ]
            share = f"{np.mean(wins):.0%}"
        worse_bound = low if better else -high  # how much worse i2i could be, in the metric's direction
        verdict = (
            "i2i better"
            if worse_bound > 0
            else ("parity (CI covers 0)" if (low <= 0 <= high) else "reference better")
        )
        lines.append(
            f"| {metric} | {cells[0]} | {cells[1]} | {diff:+.4f} [{low:+.4f}, {high:+.4f}] | {share} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    task = TASKS[args.dataset]
    args.out.mkdir(parents=True, exist_ok=True)
    if args.lockstep:
        lockstep(args, task, args.lockstep)
        return
    jobs = [(tool, seed) for seed in args.seeds for tool in args.tools]
    print(
        f"{args.dataset}: {task.method} {args.netG} ngf {args.ngf} ndf {args.ndf}, load {args.load_size} -> "
        f"crop {args.size}, {args.epochs} + {args.epochs_decay} epochs, seeds {args.seeds}, {args.device}",
        flush=True,
    )
    if not args.skip_train:
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {job: pool.submit(train_one, args, task, *job) for job in jobs}
            for (tool, seed), future in futures.items():
                future.result()
                print(f"trained {tool} seed {seed}", flush=True)

    inputs, targets = test_images(args, task)
    if task.paired:
        scorer_name, metrics = "PSNR (dB) / SSIM / L1 ([0, 1] scale) vs ground truth", ["psnr", "ssim", "l1"]

        def score(fakes: list[np.ndarray]) -> dict[str, np.ndarray]:
            return paired_scores(fakes, targets)
    else:
        scorer_name, score = unpaired_scorer(args, task, targets)
        metrics = ["fid", "kid"] if args.inception_weights else ["target_share"]

    results: dict[str, dict[int, dict[str, list[float]]]] = {tool: {} for tool in args.tools}
    for tool, seed in jobs:
        run = args.out / f"{tool}_seed{seed}"
        model = run if tool == "i2i" else run / "generator.safetensors"
        torch.manual_seed(0)
        values = score(translate(model, inputs, args.device, args.test_mode))
        results[tool][seed] = {k: v.tolist() for k, v in values.items()}
        print(
            f"{tool} seed {seed}: " + ", ".join(f"{k} {np.mean(v):.4f}" for k, v in values.items()),
            flush=True,
        )
    (args.out / f"results_{args.test_mode}.json").write_text(
        json.dumps(
            {
                "args": vars(args)
                | {"reference": str(args.reference), "data": str(args.data), "out": str(args.out)},
                "scorer": scorer_name,
                "results": results,
            },
            indent=1,
            default=str,
        )
    )
    print(
        f"\nscore: {scorer_name}; {len(inputs)} test inputs; generators in {args.test_mode} mode; "
        "interval: Welch t over seed means\n"
    )
    print(table(results, metrics))


if __name__ == "__main__":
    main()
