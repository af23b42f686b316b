"""The training loop: data, device, precision, epochs, schedules, checkpoints, resume and logging.

The method owns its step (:meth:`i2i.methods.Method.training_step`); this module owns the loop
around it. A run directory holds everything (see :mod:`i2i.weights`). Running ``train`` again into
the same directory continues exactly where the last checkpoint left off, mid-epoch included: the
sampler's permutation of the epoch is drawn again from its saved generator state and the batches
already seen are skipped, and every RNG, optimizer, scheduler and image pool is restored, so a run
stopped after k steps and resumed to n has bit-identical weights to an uninterrupted n-step run on
the CPU.

Resuming with a changed recipe is refused (unless ``force``) when anything that shapes the result
differs; fields that only control the run (``train.max_steps``, logging, sampling and checkpoint
intervals, ``train.device``, ``data.num_workers``, ``data.root``) may change between runs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import numpy as np
import torch
import yaml
from torch import nn
from torch.utils.data import Dataset, default_collate
from torch.utils.data import get_worker_info as _worker_info

from i2i.card import ModelCard
from i2i.config import Recipe, load_recipe, recipe_to_yaml
from i2i.config.schema import HIGHER_IS_BETTER
from i2i.data import Geometry, build_dataset, data_layout
from i2i.files import write_text_atomic
from i2i.methods import Batch, Method, create_method
from i2i.run_dir import WEIGHTS_FILE, RunDir, RunDirError
from i2i.train.accelerate import (
    apply_fast_paths,
    augment_seed,
    batch_augment,
    cudnn_benchmark,
    prepare_batch,
    resolve_fast_paths,
)
from i2i.train.checkpoint import (
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from i2i.train.distributed import (
    DistributedContext,
    SilentRunLogger,
    all_ranks_agree,
    average_tensor,
    distributed_session,
    gather_objects,
    on_main_rank,
    seed_rank,
    shard_batches,
    unwrapped,
    wrap_networks,
)
from i2i.train.loader import DataWarnings, EpochLoader
from i2i.train.logging import RunLogger, mean_losses, truncate_metrics
from i2i.train.schedules import Plateau, Schedules

__all__ = ["Evaluator", "NonFiniteLossError", "RunDirError", "TrainResult", "resolve_device", "train"]

logger = logging.getLogger("i2i.train")

RUN_CONTROL_FIELDS: tuple[str, ...] = (
    "train.max_steps",
    "train.sample_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.keep_every_epochs",
    "train.log_every",
    "train.device",
    "data.num_workers",
    "data.root",
    # fast paths: they change float rounding only (recipe schema, TrainConfig)
    "train.channels_last",
    "train.compile",
    "train.compile_mode",
    "train.compile_backend",
    "train.adam",
    "train.cudnn_benchmark",
    "train.pin_memory",
    "train.persistent_workers",
    "train.sync_batchnorm",
    # evaluation reads the model, it does not change it
    "train.eval_every",
    "train.eval_metric",
    "train.eval_max_images",
    "train.inception_weights",
)
"""Recipe fields that may differ when a run is resumed: they control the run, not its result."""


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stopped without saving the bad state."""


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or stopped) run left behind.

    Attributes:
        run_dir: The run directory.
        step: Optimisation steps done in all (including before a resume).
        epoch: Completed epochs.
        checkpoint: The newest checkpoint directory.
        sample_grid: The newest sample grid PNG (None when none was written).
        losses: The losses of the last step.
        seconds: Wall time of this call.
        resumed_from: The checkpoint this call resumed from, if any.
        seconds_per_step: Mean wall time of the steps made by this call (NaN when none).
    """

    run_dir: Path
    step: int
    epoch: int
    checkpoint: Path | None
    sample_grid: Path | None
    losses: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    resumed_from: Path | None = None
    seconds_per_step: float = math.nan


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA if available, else MPS if available, else the CPU; other names as given."""
    if name != "auto":
        if name == "cuda" and not torch.cuda.is_available():
            raise ValueError("train.device: cuda was requested but torch sees no CUDA device")
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class Evaluator(Protocol):
    """Evaluation during training (``train.eval_every``), handed to :func:`train` by its caller
    (:func:`i2i.metrics.training_evaluator` for the recipe's metrics), so the trainer knows no metric.

    Called on rank 0 with the a->b generator (in eval mode is the evaluator's business: it must
    restore the generator's mode), its card, the step and the name of the checkpoint just saved;
    returns the metrics by name and whether the checkpoint became the best one.
    """

    def __call__(
        self,
        run_dir: Path,
        generator: nn.Module,
        card: ModelCard,
        *,
        step: int,
        checkpoint: str | None,
        device: str,
    ) -> tuple[dict[str, float], bool]: ...


Initialiser = Callable[[Method, str], str]
"""Loads weights from a source (``model.init_from``) into a new run's method; returns a line for the log
(:func:`i2i.finetune.initialise_from`, handed over by :mod:`i2i.launch`: the loop imports no weights
converter)."""


def train(
    recipe: Recipe,
    out_dir: Path,
    *,
    resume: bool = True,
    force: bool = False,
    progress: bool = True,
    evaluator: Evaluator | None = None,
    initialiser: Initialiser | None = None,
) -> TrainResult:
    """Train ``recipe``'s method into the run directory ``out_dir``.

    Args:
        recipe: A validated recipe (see :func:`i2i.config.load_recipe`).
        out_dir: The run directory; created if needed.
        resume: Continue from the newest checkpoint in ``out_dir`` if there is one.
        force: Resume even when the recipe differs from the run's; with ``resume=False``, delete an
            existing run's checkpoints, samples and logs and start over.
        progress: Show a progress bar on stderr.
        evaluator: Runs every ``train.eval_every`` steps; required when the recipe sets it
            (:func:`i2i.launch.run_training` builds it from the recipe).
        initialiser: Loads ``model.init_from`` into a new run's method (not on resume); required when
            the recipe sets it (:func:`i2i.launch.run_training` passes :func:`i2i.finetune.initialise_from`).

    Returns:
        A :class:`TrainResult`.

    Raises:
        RunDirError: ``out_dir`` holds a different run (see the module) or, with ``resume=False``,
            any run, and ``force`` is not set.
        NonFiniteLossError: A loss became NaN/inf; the last good checkpoint is kept.
        KeyboardInterrupt: On Ctrl-C, after the current step finished and a checkpoint was saved.

    Started by ``torchrun`` (``WORLD_SIZE`` > 1), each process trains its shard of the data with DDP and
    rank 0 alone writes the run directory (see :mod:`i2i.train.distributed`).
    """
    if recipe.train.eval_every is not None and evaluator is None:
        raise ValueError(
            "train.eval_every: evaluation during training needs an evaluator; use i2i.launch.run_training "
            "or pass evaluator=i2i.metrics.training_evaluator(recipe)"
        )
    if recipe.model.init_from is not None and initialiser is None:
        raise ValueError(
            "model.init_from: starting from existing weights needs an initialiser; use "
            "i2i.launch.run_training or pass initialiser=i2i.finetune.initialise_from"
        )
    with (
        distributed_session(resolve_device(recipe.train.device)) as (context, device),
        contextlib.ExitStack() as hold,  # the run directory's lock, held until the run ends
    ):
        run = _Run(
            recipe,
            Path(out_dir),
            resume=resume,
            force=force,
            progress=progress,
            context=context,
            device=device,
            evaluator=evaluator,
            initialiser=initialiser,
            hold=hold,
        )
        return run.run()


class _Run:
    """One call of :func:`train`: the state of the loop and its helpers."""

    def __init__(
        self,
        recipe: Recipe,
        run_dir: Path,
        *,
        resume: bool,
        force: bool,
        progress: bool,
        context: DistributedContext | None = None,
        device: torch.device | None = None,
        evaluator: Evaluator | None = None,
        initialiser: Initialiser | None = None,
        hold: contextlib.ExitStack | None = None,
    ) -> None:
        self.started = time.perf_counter()
        self.evaluator = evaluator
        self.recipe = recipe
        self.run_dir = run_dir
        self.run_paths = RunDir(run_dir)
        self.recipe_yaml = recipe_to_yaml(recipe)
        self.progress = progress
        self.context = context or DistributedContext()
        self.is_main = self.context.is_main  # rank 0 writes the run directory, the others only train

        def prepare() -> Path | None:
            if hold is not None:  # one run per directory; then what a killed run left can go
                hold.enter_context(self.run_paths.locked())
                self.run_paths.remove_temporaries()
            checkpoint = _prepare_run_dir(run_dir, recipe, resume=resume, force=force)
            write_text_atomic(self.run_paths.recipe, self.recipe_yaml)
            return checkpoint

        self.resume_from = on_main_rank(prepare, self.context)

        t = recipe.train
        _seed_everything(t.seed)
        self.device = device if device is not None else resolve_device(t.device)
        self.autocast_dtype = _autocast_dtype(t.precision, self.device)
        self.data_warnings = DataWarnings()  # each data warning once per run, from any process
        self.dataset = self.data_warnings.run(lambda: _build_dataset(recipe, train=True))
        if len(self.dataset) == 0:  # type: ignore[arg-type]
            raise ValueError(f"{recipe.data.root}: the training set is empty")
        shard = math.ceil(len(self.dataset) / self.context.world_size)  # type: ignore[arg-type]
        self.steps_per_epoch = math.ceil(shard / t.batch_size)
        self.total_epochs = t.epochs + t.epochs_decay
        planned = self.total_epochs * self.steps_per_epoch
        self.total_steps = min(planned, t.max_steps) if t.max_steps is not None else planned

        self.method: Method = create_method(recipe).to(self.device).train()
        self.initialised: str | None = None  # the initialiser's line for the log
        if recipe.model.init_from is not None and self.resume_from is None and initialiser is not None:
            self.initialised = initialiser(self.method, recipe.model.init_from)  # a resume loads its own
        # More workers than CPUs only compete with the training step; results do not depend on it.
        workers = min(recipe.data.num_workers, _available_cpus())
        self.fast = resolve_fast_paths(
            t, self.device, num_workers=workers, world_size=self.context.world_size
        )
        apply_fast_paths(self.method, self.fast)  # Adam kernel, channels-last, torch.compile
        if self.context.enabled:
            seed_rank(t.seed, self.context)
            wrap_networks(self.method, self.device, sync_batchnorm=self.fast.sync_batchnorm)
        self.augment = batch_augment(recipe)  # crop / flip / colour on the device, or None
        self.loader = EpochLoader(
            self.dataset,
            num_workers=workers,
            pin_memory=self.fast.pin_memory,
            persistent_workers=self.fast.persistent_workers,
            worker_init_fn=_init_worker,
            seed=t.seed,
            warnings=self.data_warnings,
        )
        self.schedules = Schedules(
            self.method.optimizers,
            t.schedule,
            epochs=t.epochs,
            epochs_decay=t.epochs_decay,
            step_size=t.step_size,
            plateau=Plateau(
                metric=t.plateau_metric,
                mode="max" if t.plateau_metric == "eval" and HIGHER_IS_BETTER[t.eval_metric] else "min",
                factor=t.plateau_factor,
                patience=t.plateau_patience,
                threshold=t.plateau_threshold,
                min_lr=t.plateau_min_lr,
            ),
        )
        self.scaler = torch.amp.GradScaler(self.device.type) if t.precision == "fp16" else None
        self.method.scaler = self.scaler
        self.sampler_generator = torch.Generator().manual_seed(t.seed)
        self.step = 0
        self.epoch = 0
        self.position = 0  # batches done in the current epoch
        self.epoch_sampler_state = self.sampler_generator.get_state()
        self.last_losses: dict[str, float] = {}
        self.last_saved_step = -1
        self.checkpoint: Path | None = None
        self.sample_grid: Path | None = None
        self.sampled_step = -1
        if self.resume_from is not None:
            self.resume_from = self._load_newest_good(self.resume_from)
        self.sample_batch = self._fixed_sample_batch()

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> TrainResult:
        t = self.recipe.train
        start_step = self.step
        first_step_time: float | None = None
        if self.is_main:
            truncate_metrics(self.run_dir, self.step)
        history: list[dict[str, float]] = []
        with (
            (
                RunLogger(
                    self.run_dir,
                    total_steps=self.total_steps,
                    start_step=self.step,
                    progress=self.progress,
                    total_epochs=self.total_epochs,
                )
                if self.is_main
                else SilentRunLogger()
            ) as log,
            _deferred_interrupt() as interrupted,
            cudnn_benchmark(self.fast.cudnn_benchmark),
        ):
            for line in self._summary():
                log.message(line)
            if self.resume_from is not None:
                log.message(f"resuming from {self.resume_from} (step {self.step}, epoch {self.epoch + 1})")
            elif self.initialised is not None:
                log.message(self.initialised)
            while not self._done():
                batches = self._epoch_batches()
                while not self._done():
                    try:
                        items = next(batches, None)
                    except Exception:
                        if interrupted():  # workers stopped by the Ctrl-C; the state is consistent
                            self._save()
                            raise KeyboardInterrupt from None
                        raise
                    if items is None:
                        break
                    first_step_time = first_step_time or time.perf_counter()
                    losses = self._training_step(self.method.batch_from_items(items, self.device))
                    history.append(losses)
                    log.update(self.step, f"{self.epoch + 1}/{self.total_epochs}", losses)
                    if self.position == self.steps_per_epoch:
                        self._end_epoch()
                    if self.step % t.log_every == 0 or self._done():
                        log.log(self.step, self.epoch, mean_losses(history), self._lrs())
                        history.clear()
                    if self.step % t.sample_every == 0 and self.is_main:
                        self.sample_grid = log.sample(self.step, self._sample())
                    if self.step % t.checkpoint_every == 0 or self.position == 0 or self._done():
                        self._save()
                    if self.evaluator is not None and t.eval_every and self.step % t.eval_every == 0:
                        self._save()  # the evaluated weights are a checkpoint that can become 'best'
                        metrics = self._evaluate(log) if self.is_main else {}
                        if self.schedules.on_eval:  # every rank steps the plateau with rank 0's value
                            self.schedules.evaluated(gather_objects(metrics, self.context)[0][t.eval_metric])
                    if all_ranks_agree(interrupted(), self.context, self.device):
                        self._save()
                        raise KeyboardInterrupt
            self._save()
            if self.is_main and self.sampled_step != self.step:
                self.sample_grid = log.sample(self.step, self._sample())
        steps = self.step - start_step
        step_seconds = (
            (time.perf_counter() - first_step_time) / steps if first_step_time and steps else math.nan
        )
        return TrainResult(
            run_dir=self.run_dir,
            step=self.step,
            epoch=self.epoch,
            checkpoint=self.checkpoint,
            sample_grid=self.sample_grid,
            losses=self.last_losses,
            seconds=time.perf_counter() - self.started,
            resumed_from=self.resume_from,
            seconds_per_step=step_seconds,
        )

    def _summary(self) -> list[str]:
        """What the run chose, said before the first step (a batch job's log starts with it)."""
        t, d, fast = self.recipe.train, self.recipe.data, self.fast
        autocast = "off" if self.autocast_dtype is None else str(self.autocast_dtype).replace("torch.", "")
        switches = ", ".join(
            f"{name} {'on' if getattr(fast, name) else 'off'}"
            for name in ("channels_last", "compile", "cudnn_benchmark", "pin_memory", "persistent_workers")
        )
        processes = f", {self.context.world_size} processes" if self.context.enabled else ""
        count = len(self.dataset)  # type: ignore[arg-type]
        where = (
            f"root {d.root}, split train"
            if data_layout(d.layout).needs_root
            else f"generated ({d.synthetic_size} px)"
        )
        limit = f", max_images {d.max_images}" if d.max_images is not None else ""
        cap = f", capped by train.max_steps {t.max_steps}" if t.max_steps is not None else ""
        return [
            f"run {self.run_dir}: {self.recipe.name} ({self.recipe.method})",
            f"device {self.device}{processes}, precision {t.precision} (autocast {autocast})",
            f"fast paths: adam {fast.adam}, {switches}, {self.loader.loader.num_workers} data workers",
            f"data: {d.layout} layout, {where}: {count} items{limit}, test split {d.test_split!r}",
            f"steps: {self.total_steps} ({self.steps_per_epoch} per epoch at batch {t.batch_size} x "
            f"{self.total_epochs} epochs = {t.epochs} + {t.epochs_decay} decay{cap})",
        ]

    def _done(self) -> bool:
        if self.recipe.train.max_steps is not None and self.step >= self.recipe.train.max_steps:
            return True
        return self.epoch >= self.total_epochs

    def _training_step(self, batch: Batch) -> dict[str, float]:
        seed = augment_seed(self.recipe.train.seed, self.epoch, self.position, self.context.rank)
        batch = prepare_batch(batch, augment=self.augment, seed=seed, channels_last=self.fast.channels_last)
        with torch.autocast(
            self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None
        ):
            output = self.method.training_step(batch)
        if self.scaler is not None:
            self.scaler.update()
        names = list(output.losses)
        losses = average_tensor(torch.stack([output.losses[n].float() for n in names]), self.context)
        values = losses.cpu().tolist()  # one device sync; the mean over ranks, so all stop on a NaN
        bad = [name for name, value in zip(names, values, strict=True) if not math.isfinite(value)]
        if bad:
            kept = (
                f"the last good checkpoint is {self.checkpoint}"
                if self.checkpoint
                else "no checkpoint was saved"
            )
            raise NonFiniteLossError(
                f"loss {bad[0]!r} is {values[names.index(bad[0])]} at step {self.step + 1} "
                f"(epoch {self.epoch + 1}); stopped without saving this state, {kept}. Lower train.lr, "
                "use precision fp32 or check the data"
            )
        self.step += 1
        self.position += 1
        self.last_losses = dict(zip(names, values, strict=True))
        self.schedules.observe(self.last_losses)  # the mean over ranks: every rank steps alike
        return self.last_losses

    def _end_epoch(self) -> None:
        self.epoch += 1
        self.position = 0
        self.schedules.end_epoch()
        self.epoch_sampler_state = self.sampler_generator.get_state()

    def _lrs(self) -> dict[str, float]:
        return {name: opt.param_groups[0]["lr"] for name, opt in self.method.optimizers.items()}

    # -- data -------------------------------------------------------------------------------------

    def _epoch_batches(self) -> Iterator[Mapping[str, Any]]:
        """The batches of the current epoch from ``self.position`` on, in the epoch's sampler order."""
        size, count = self.recipe.train.batch_size, len(self.dataset)  # type: ignore[arg-type]
        if self.context.enabled:  # this rank's shard: DistributedSampler with set_epoch(epoch)
            seed = self.recipe.train.seed
            batches = shard_batches(count, size, seed=seed, epoch=self.epoch, context=self.context)
        else:
            self.sampler_generator.set_state(self.epoch_sampler_state)
            order = torch.randperm(count, generator=self.sampler_generator).tolist()
            batches = [order[i : i + size] for i in range(0, len(order), size)]
        # the loader hands the epoch to the dataset with every index, also in persistent workers
        return self.loader.epoch(self.epoch, batches[self.position :])

    def _fixed_sample_batch(self) -> Batch:
        """``num_samples`` images spread over the training set, without augmentation, chosen once."""
        dataset = self.data_warnings.run(lambda: _build_dataset(self.recipe, train=False))
        count = min(self.recipe.train.num_samples, len(dataset))  # type: ignore[arg-type]
        indices = np.linspace(0, len(dataset) - 1, count).round().astype(int).tolist()  # type: ignore[arg-type]
        collated = default_collate(self.data_warnings.run(lambda: [dataset[i] for i in indices]))
        return self.method.batch_from_items(collated, self.device)

    def _sample(self) -> dict[str, torch.Tensor]:
        self.method.eval()  # what inference gives: dropout off, batch norm running statistics
        try:
            with torch.autocast(
                self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None
            ):
                return self.method.sample(self.sample_batch)
        finally:
            self.method.train()
            self.sampled_step = self.step

    # -- evaluation -------------------------------------------------------------------------------

    def _evaluate(self, log: RunLogger) -> dict[str, float]:
        """Evaluate the a->b generator with the evaluator; it keeps the best checkpoint by its metric.

        The RNG states are restored afterwards, so a run with evaluation trains exactly as one without.
        """
        assert self.evaluator is not None
        card = self.method.model_cards(recipe=self.recipe_yaml, crop_size=self.recipe.data.crop_size)[0]
        generator = next(iter(self.method.generators().values()))  # the a->b one, as its card
        rng = get_rng_state()
        try:
            metrics, is_best = self.evaluator(
                self.run_dir,
                generator,
                card,
                step=self.step,
                checkpoint=self.checkpoint.name if self.checkpoint else None,
                device=str(self.device),
            )
        finally:
            set_rng_state(rng)
            self.method.train()
        log.log_eval(self.step, metrics)
        text = " ".join(f"{name} {value:.4g}" for name, value in metrics.items())
        log.message(f"step {self.step}: {text}{' (best)' if is_best else ''}")
        return metrics

    # -- checkpoints ------------------------------------------------------------------------------

    def _save(self) -> None:
        if self.last_saved_step == self.step:
            return
        state = {
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "optimizers": {name: opt.state_dict() for name, opt in self.method.optimizers.items()},
            "schedulers": self.schedules.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            "method": self.method.extra_state(),
            "rng": get_rng_state(),
            "sampler": self.epoch_sampler_state,
            "losses": dict(self.last_losses),
        }
        if self.context.enabled:  # every rank's random streams and image pools, for an exact resume
            state["ranks"] = gather_objects({"rng": state["rng"], "method": state["method"]}, self.context)
        if self.is_main:
            with unwrapped(self.method):  # state_dict keys without DDP's "module."
                self.checkpoint = save_checkpoint(
                    self.run_dir,
                    self.step,
                    method=self.method,
                    state=state,
                    recipe=self.recipe_yaml,
                    crop_size=self.recipe.data.crop_size,
                    keep=self.recipe.train.keep_checkpoints,
                    keep_every_steps=self._milestone_steps(),
                )
        else:
            self.checkpoint = self.run_paths.checkpoint(self.step)
        self.last_saved_step = self.step

    def _milestone_steps(self) -> int | None:
        """``train.keep_every_epochs`` in steps: every checkpoint at a multiple of it is kept."""
        every = self.recipe.train.keep_every_epochs
        return every * self.steps_per_epoch if every is not None else None

    def _load_newest_good(self, newest: Path) -> Path:
        """Load ``newest``, or else the newest older complete checkpoint that loads (a damaged file must
        not make a run unresumable while an older checkpoint is intact); says which one it took."""
        older = [
            p
            for p in reversed(self.run_paths.checkpoint_dirs())
            if p.name < newest.name and (p / WEIGHTS_FILE).is_file()
        ]
        reasons: list[str] = []
        for candidate in [newest, *older]:
            try:
                self._load(candidate)
            except Exception as error:  # a damaged file raises safetensors', torch's or pickle's errors
                reasons.append(
                    f"{candidate.name}: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
                )
                logger.warning("checkpoint %s cannot be loaded (%s)", candidate, reasons[-1])
                continue
            if candidate != newest:
                logger.warning("resuming from the older checkpoint %s; %s", candidate, "; ".join(reasons))
            return candidate
        raise RunDirError(f"{self.run_dir}: no checkpoint can be loaded ({'; '.join(reasons)})")

    def _load(self, directory: Path) -> None:
        with unwrapped(self.method):
            state = load_checkpoint(directory, self.method)
        for name, opt in self.method.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        self.schedules.load_state_dict(state["schedulers"])
        if self.scaler is not None and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        ranks = state.get("ranks", [])
        own = ranks[self.context.rank] if len(ranks) == self.context.world_size else state
        self.method.load_extra_state(own["method"])  # this rank's pools and random streams
        set_rng_state(own["rng"])
        self.epoch_sampler_state = state["sampler"]
        self.step, self.epoch, self.position = int(state["step"]), int(state["epoch"]), int(state["position"])
        self.last_losses = dict(state.get("losses", {}))
        self.checkpoint = directory
        self.last_saved_step = self.step


# -- helpers ------------------------------------------------------------------------------------------


def _build_dataset(recipe: Recipe, *, train: bool) -> Dataset[dict[str, object]]:
    d = recipe.data
    return build_dataset(
        d.layout,
        d.root,
        "train",
        Geometry.from_data(d, train=train, seed=recipe.train.seed),  # device augmentation: no random part
        max_images=d.max_images,
        domains=d.domains,
        synthetic_size=d.synthetic_size,
        synthetic_count=d.synthetic_count,
    )


def _available_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _init_worker(worker_id: int) -> None:
    """Seed python and numpy in a data worker from its torch seed; leave Ctrl-C to the main process."""
    info = _worker_info()
    seed = info.seed if info is not None else torch.initial_seed()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type != "cuda":
            raise ValueError(
                f"train.precision: fp16 needs a CUDA device (training on {device.type}); use bf16"
            )
        return torch.float16
    raise ValueError(f"train.precision: unknown precision {precision!r}")


def _prepare_run_dir(run_dir: Path, recipe: Recipe, *, resume: bool, force: bool) -> Path | None:
    """Check ``run_dir`` against this run; returns the checkpoint to resume from, if any."""
    run = RunDir(run_dir)
    checkpoint = run.latest_checkpoint()
    recipe_file = run.recipe
    if checkpoint is None:
        return None
    if not resume:
        if not force:
            raise RunDirError(
                f"{run_dir}: holds a run (checkpoint {checkpoint.name}); resume it (drop --no-resume), "
                "choose another --out, or pass --force to delete its checkpoints, samples and logs"
            )
        run.reset()
        return None
    if recipe_file.is_file() and not force:
        differences = _recipe_differences(load_recipe(recipe_file), recipe)
        if differences:
            shown = ", ".join(differences[:5]) + (" ..." if len(differences) > 5 else "")
            raise RunDirError(
                f"{run_dir}: holds a run of a different recipe (differs in {shown}); choose another --out, "
                "or pass --force to resume it with this recipe"
            )
    return checkpoint


def _recipe_differences(old: Recipe, new: Recipe) -> list[str]:
    """Dotted keys whose values differ between two recipes, run-control fields excluded."""
    a = _flatten(yaml.safe_load(recipe_to_yaml(old)))
    b = _flatten(yaml.safe_load(recipe_to_yaml(new)))
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in RUN_CONTROL_FIELDS)


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C or SIGTERM into a flag checked between steps (a second one interrupts
    at once).

    SIGTERM is what SLURM, Kubernetes and ``docker stop`` send before they kill a job. A step
    interrupted half-way (generator updated, discriminator not) cannot be resumed exactly, so the loop
    finishes the step, saves a checkpoint and then raises ``KeyboardInterrupt``. Outside the main
    thread (where Python delivers no signals) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hits: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if hits:
            raise KeyboardInterrupt
        hits.append(signum)

    signals = [signal.SIGINT, signal.SIGTERM]
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield lambda: bool(hits)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)  # None: set outside Python
