"""DDP on the CPU with gloo: 2 processes (torch.multiprocessing.spawn) against one process."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from i2i.methods import CUT, Batch, CycleGAN, Method, Pix2Pix
from i2i.train.distributed import (
    DistributedContext,
    MethodDDP,
    launch,
    shard_batches,
    unwrapped,
    wrap_networks,
)

STEPS = 3
GLOBAL_BATCH = 4

# Networks whose result does not depend on how the batch is split: no batch norm (each process would
# normalise its own half; SyncBatchNorm runs on accelerators only), no dropout and no image pool (both
# draw random numbers per process). Not instance norm either: it subtracts each channel's mean, so the
# bias of the convolution before it has a gradient of exactly 0 in theory and of rounding noise in
# practice, which Adam scales to a full lr step of random sign in either run.
SMALL = {"base_channels": 4, "norm": "none"}
CONFIGS: dict[str, dict[str, Any]] = {
    "pix2pix": {"gan_mode": "vanilla"},
    "cyclegan": {"gan_mode": "lsgan"},
    "pix2pix_wgangp": {"gan_mode": "wgangp"},  # gradient penalty: a double backward through DDP
    # the encoder runs outside DDP's forward (feature taps) beside G's own forward, the heads are a
    # network of their own; every process draws the same patch locations (same seed, same calls)
    "cut": {"gan_mode": "lsgan"},
}


def _method(name: str) -> Method:
    torch.manual_seed(0)
    gan_mode = CONFIGS[name]["gan_mode"]
    if name == "cut":
        return CUT(
            generator="resnet_6blocks",
            generator_kwargs={**SMALL, "dropout": 0.0},
            discriminator_kwargs={**SMALL, "num_layers": 2},
            num_patches=8,
        )
    if name.startswith("pix2pix"):
        return Pix2Pix(
            generator="resnet_6blocks",
            generator_kwargs={**SMALL, "dropout": 0.0},
            discriminator_kwargs={**SMALL, "num_layers": 2},
            gan_mode=gan_mode,
        )
    return CycleGAN(
        generator="resnet_6blocks",
        generator_kwargs={**SMALL, "dropout": 0.0},
        discriminator_kwargs={**SMALL, "num_layers": 2},
        gan_mode=gan_mode,
        pool_size=0,
    )


def _batches() -> list[Batch]:
    g = torch.Generator().manual_seed(1)
    return [
        Batch(
            a=torch.rand(GLOBAL_BATCH, 3, 16, 16, generator=g) * 2 - 1,
            b=torch.rand(GLOBAL_BATCH, 3, 16, 16, generator=g) * 2 - 1,
        )
        for _ in range(STEPS)
    ]


def _weights(method: Method) -> dict[str, torch.Tensor]:
    with unwrapped(method):
        return {k: v.detach().clone() for k, v in method.state_dict().items()}


def _worker(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)  # two processes share the two cores
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        results = {}
        for name in CONFIGS:
            method = wrap_networks(_method(name), torch.device("cpu"))
            assert all(isinstance(net, MethodDDP) for net in method.networks().values())
            half = GLOBAL_BATCH // world
            for batch in _batches():
                part = slice(rank * half, (rank + 1) * half)
                losses = method.training_step(Batch(a=batch.a[part], b=batch.b[part])).losses
                assert all(torch.isfinite(v) for v in losses.values())
            results[name] = _weights(method)
        torch.save(results, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_two_gloo_processes_stay_identical_and_match_one_process(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for name in CONFIGS:
        start = _weights(_method(name))
        single = _method(name)
        for batch in _batches():
            single.training_step(batch)
        expected = _weights(single)
        # Both ranks apply the same all-reduced gradient: bit-identical parameters.
        assert all(torch.equal(ranks[0][name][k], ranks[1][name][k]) for k in expected), name
        if name == "pix2pix_wgangp":
            # The penalty's per-image mixing weights come from each process's RNG, so this one is
            # not the single-process run; it must still change the weights and agree across ranks.
            assert any(not torch.equal(ranks[0][name][k], start[k]) for k in start)
            continue
        # Against one process on the whole batch: every loss is a mean over images (and patches),
        # so the average of two half-batch gradients is the whole-batch gradient up to float32
        # reassociation (~1e-7 relative). Adam divides by sqrt(v), so the per-step update is at most
        # lr = 2e-4 whatever the gradient's size; a rounding-level gradient can still turn its
        # sign, which bounds a parameter's deviation by 2 * lr * STEPS. We check that the worst
        # deviation stays 100x below one Adam step (measured: 1.4e-8) and that the weights moved.
        for key, value in expected.items():
            moved = (value - start[key]).abs().max()
            deviation = (ranks[0][name][key] - value).abs().max()
            assert deviation <= 2e-6, (name, key, float(deviation), float(moved))
        assert any((expected[k] - start[k]).abs().max() > 1e-5 for k in expected)


def test_shards_cover_the_epoch_and_differ_per_epoch() -> None:
    shards = [
        shard_batches(10, 2, seed=0, epoch=0, context=DistributedContext(rank=r, world_size=2))
        for r in range(2)
    ]
    flat = [i for shard in shards for batch in shard for i in batch]
    assert sorted(flat) == list(range(10)) and [len(s) for s in shards] == [3, 3]
    again = shard_batches(10, 2, seed=0, epoch=0, context=DistributedContext(rank=0, world_size=2))
    other = shard_batches(10, 2, seed=0, epoch=1, context=DistributedContext(rank=0, world_size=2))
    assert again == shards[0] and other != shards[0]


def test_context_reads_the_torchrun_environment() -> None:
    context = DistributedContext.from_env({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"})
    assert (context.rank, context.local_rank, context.world_size, context.is_main) == (3, 1, 4, False)
    assert context.device(torch.device("cuda")) == torch.device("cuda", 1)
    assert context.device(torch.device("cpu")) == torch.device("cpu")
    assert not DistributedContext.from_env({}).enabled


def _train_then_resume(settings: list[str], out: str) -> tuple[Any, Any]:
    """In each launched process: 3 steps, then a second run that resumes to 4 (one launch, two runs).

    The process group is created here, once, so both runs use it (the trainer leaves a group it did
    not create open) instead of joining the launcher's rendezvous twice.
    """
    from i2i.config import load_recipe
    from i2i.train import train

    torch.set_num_threads(1)  # two processes share the two cores
    dist.init_process_group("gloo")
    try:
        first = train(
            load_recipe("demo_cyclegan", [*settings, "train.max_steps=3"]), Path(out), progress=False
        )
        second = train(
            load_recipe("demo_cyclegan", [*settings, "train.max_steps=4"]), Path(out), progress=False
        )
    finally:
        dist.destroy_process_group()
    return first, second


@pytest.mark.slow
def test_two_processes_train_write_once_and_resume_on_both_ranks(
    tmp_path: Path, tiny_overrides: list[str]
) -> None:
    # torch's elastic launcher (what `i2i train --devices 2` runs), gloo on the CPU: 8 images, batch 2
    # per rank and 2 ranks make 2 steps per epoch, so 3 steps cross an epoch and stop mid-epoch.
    settings = [*tiny_overrides, "model.pool_size=3"]
    handler = signal.getsignal(signal.SIGINT)
    first, second = launch(_train_then_resume, (settings, str(tmp_path)), nproc=2)
    assert signal.getsignal(signal.SIGINT) is handler  # the launcher's own handler is removed again
    assert (first.step, first.epoch, second.step, second.epoch) == (3, 1, 4, 2)
    assert second.resumed_from == tmp_path / "checkpoints" / "step_00000003"
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # one line per step: rank 1 writes nothing
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.png")) == [
        "step_00000003.png",
        "step_00000004.png",
    ]
    state = torch.load(tmp_path / "checkpoints" / "step_00000003" / "state.pt", weights_only=True)
    assert (state["step"], state["epoch"], state["position"]) == (3, 1, 1)
    assert len(state["ranks"]) == 2  # each rank's RNG and image pools, restored by each rank
    assert not torch.equal(state["ranks"][0]["rng"]["torch"], state["ranks"][1]["rng"]["torch"])


def test_cli_devices_launches_processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import i2i.launch
    from i2i.cli import app

    calls: list[dict[str, Any]] = []

    def fake_launch(fn: Any, args: tuple[Any, ...], *, nproc: int) -> Any:
        recipe, out_dir, resume, force, progress = args
        calls.append({"fn": fn.__name__, "name": recipe.name, "out": out_dir, "nproc": nproc})
        calls[-1] |= {"resume": resume, "force": force, "progress": progress}
        raise KeyboardInterrupt  # stop before reporting a result

    monkeypatch.setattr(i2i.launch, "launch", fake_launch)
    args = ["train", "demo_pix2pix", "--out", str(tmp_path), "--devices", "3", "--no-progress"]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 130, outcome.output
    assert calls == [
        {
            "fn": "_train_process",
            "name": "demo_pix2pix",
            "out": str(tmp_path),
            "nproc": 3,
            "resume": True,
            "force": False,
            "progress": False,
        }
    ]
