"""The ``i2i`` command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import click
import typer

from i2i import __version__

if TYPE_CHECKING:
    from i2i.infer.pipeline import TranslateSummary

app = typer.Typer(
    name="i2i",
    help="Image-to-image translation: train pix2pix / CycleGAN, export to ONNX, translate folders.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True)
class ExitOn:
    """Exit with ``code`` after printing ``PREFIX MESSAGE`` to stderr when a command raises ``error``.

    ``error`` is a class or ``"module:Class"``, resolved only when something was raised, so the CLI
    imports no library module (and no torch) before a command runs.
    """

    error: str | type[BaseException]
    code: int
    prefix: str = "error: "

    def error_type(self) -> type[BaseException] | None:
        """The class; ``None`` when its module cannot be imported (then nothing of it was raised)."""
        if not isinstance(self.error, str):
            return self.error
        module, _, name = self.error.partition(":")
        try:
            error: type[BaseException] = getattr(importlib.import_module(module), name)
        except ImportError:  # e.g. a torch built without torch.distributed
            return None
        return error


def exits_on(*codes: ExitOn) -> Callable[[Command], Command]:
    """Turn the library errors a command raises into one ``error: MESSAGE`` line and an exit code.

    The first matching entry wins; anything else (a bug) keeps its traceback. Exit codes: 2 for bad
    input (recipe, file, option), 1 for a job that ran and failed; each command lists its own.
    """

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except (typer.Exit, typer.Abort, click.ClickException):
                raise
            except Exception as error:
                entry = next((e for e in codes if isinstance(error, e.error_type() or ())), None)
                if entry is None:
                    raise
                message = error.args[0] if isinstance(error, KeyError) and error.args else error
                typer.echo(f"{entry.prefix}{message}", err=True)
                raise typer.Exit(entry.code) from error

        wrapper.exit_codes = codes  # type: ignore[attr-defined]  # for tests/test_cli.py
        return wrapper  # type: ignore[return-value]

    return decorate


BAD_INPUT = (ExitOn(ValueError, 2), ExitOn(OSError, 2))
"""Unusable model files, data or options."""
TRAINING_ERRORS = (
    ExitOn("i2i.config:RecipeError", 2),
    ExitOn("i2i.metrics:InceptionWeightsError", 2),  # train.eval_metric fid / kid without the weights
    ExitOn("i2i.train:RunDirError", 2),
    ExitOn("i2i.train:NonFiniteLossError", 1),
    ExitOn(ValueError, 1),
    ExitOn(OSError, 1),
    # a failed process of --devices N (ChildFailedError names its exception)
    ExitOn(
        "torch.distributed.elastic.multiprocessing.errors:ChildFailedError",
        1,
        "error: a training process failed: ",
    ),
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"i2i {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Image-to-image translation toolkit."""


@app.command()
def models() -> None:
    """List the registered generators, discriminators and GAN objectives, one line each."""
    from i2i.losses import GAN_MODES
    from i2i.nn import DISCRIMINATORS, GENERATORS

    listing = {
        "generators": GENERATORS.describe(),
        "discriminators": DISCRIMINATORS.describe(),
        "GAN objectives": GAN_MODES.describe(),
    }
    for title, entries in listing.items():
        typer.echo(f"{title}:")
        for name, summary in entries.items():
            typer.echo(f"  {name:<16} {summary}")


@app.command()
def recipes() -> None:
    """List the bundled recipes (use a name wherever a recipe file is expected), one line each."""
    from i2i.config import list_recipes

    entries = list_recipes()
    width = max((len(name) for name, _ in entries), default=0)
    for name, description in entries:
        typer.echo(f"{name:<{width}}  {description}")


@app.command()
@exits_on(ExitOn("i2i.finetune:InitError", 2), *TRAINING_ERRORS)
def train(
    recipe: Annotated[
        str, typer.Argument(help="Recipe YAML file or bundled recipe name (see `i2i recipes`).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory.", show_default="runs/NAME")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a recipe value, e.g. train.lr=1e-4 (repeatable)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the run directory's last checkpoint, if it has one.")
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            help="Resume despite a changed recipe; with --no-resume, delete the old run and start over."
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    devices: Annotated[
        int,
        typer.Option(
            min=1,
            help="Train with N processes on this machine (one per GPU, DDP); "
            "for several machines use torchrun -m i2i train.",
        ),
    ] = 1,
    init_from: Annotated[
        Path | None,
        typer.Option(
            help="Fine-tune: start from these weights (run dir, checkpoint, .safetensors or reference "
            ".pth); the recipe's model.init_from."
        ),
    ] = None,
) -> None:
    """Train the method that RECIPE describes; run it again to resume, Ctrl-C saves a checkpoint."""
    from i2i.config import load_recipe

    loaded = load_recipe(recipe, [*(overrides or []), *_init_from_override(init_from)])
    run_dir = out if out is not None else Path("runs") / loaded.name
    _train_and_report(loaded, run_dir, devices=devices, resume=resume, force=force, progress=progress)


def _train_and_report(
    loaded: Any, run_dir: Path, *, devices: int, resume: bool, force: bool, progress: bool
) -> None:
    """Run (or resume) the training of a loaded recipe in ``run_dir`` and say what was done."""
    import math
    import os

    from i2i.launch import run_training

    try:
        result = run_training(loaded, run_dir, devices=devices, resume=resume, force=force, progress=progress)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; checkpoint saved in {run_dir}; run the same command to resume", err=True)
        raise typer.Exit(130) from None
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, rank 0 reports
        return
    if math.isnan(result.seconds_per_step):  # no step made by this call
        typer.echo(
            f"nothing to train: {run_dir} already finished at step {result.step} ({result.epoch} epochs); "
            "raise train.epochs or train.max_steps to go on"
        )
    else:
        typer.echo(
            f"trained {result.step} steps ({result.epoch} epochs) in {result.seconds:.0f} s "
            f"({result.seconds_per_step:.3g} s/step)"
        )
    typer.echo(f"checkpoint:  {result.checkpoint}")
    typer.echo(f"samples:     {result.sample_grid}")


@app.command()
@exits_on(*TRAINING_ERRORS)
def distill(
    teacher: Annotated[
        Path,
        typer.Argument(
            help="The trained generator: run dir, checkpoint, .safetensors, or a reference .pth with --arch."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory of the student.")],
    student: Annotated[
        str | None,
        typer.Option(
            help="Registered generator of the student (see `i2i models`).", show_default="the recipe's"
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="A folder of source-domain images to distil on.", show_default="the teacher's training data"
        ),
    ] = None,
    arch: Annotated[str | None, typer.Option(help="Architecture of a reference .pth teacher.")] = None,
    direction: Annotated[
        str | None, typer.Option(help="a2b or b2a: which generator of a CycleGAN teacher.")
    ] = None,
    recipe: Annotated[str, typer.Option(help="Recipe file or bundled name of the distillation.")] = "distill",
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a recipe value, e.g. train.max_steps=2000 (repeatable)."),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the run directory's last checkpoint.")] = True,
    force: Annotated[bool, typer.Option(help="As for `i2i train`.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    devices: Annotated[int, typer.Option(min=1, help="As for `i2i train`.")] = 1,
) -> None:
    """Distil TEACHER into a small, faster student generator (an ordinary run: resume, export, translate)."""
    from i2i.config import load_recipe
    from i2i.distill import distill_overrides

    items = distill_overrides(teacher, student=student, data=data, arch=arch, direction=direction)
    loaded = load_recipe(recipe, [*items, *(overrides or [])])
    _train_and_report(loaded, out, devices=devices, resume=resume, force=force, progress=progress)


def _init_from_override(init_from: Path | None) -> list[str]:
    """``--init-from PATH`` as the ``--set`` item it stands for, the path made absolute (the run's recipe
    records it) and quoted as a YAML string."""
    import json

    if init_from is None:
        return []
    return [f"model.init_from={json.dumps(str(init_from.expanduser().absolute()))}"]


@app.command()
@exits_on(*TRAINING_ERRORS)
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the two demo runs.")] = Path(
        "runs/demo"
    ),
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train a small pix2pix and a small CycleGAN on built-in synthetic data (a few minutes on a CPU)."""
    from i2i.config import load_recipe
    from i2i.launch import run_training

    for name in ("demo_pix2pix", "demo_cyclegan"):
        recipe = load_recipe(name)
        typer.echo(f"{name}: {recipe.description}")
        result = run_training(recipe, out / name, progress=progress)
        typer.echo(f"  {result.step} steps in {result.seconds:.0f} s; sample grid: {result.sample_grid}")
        typer.echo(f"  checkpoint: {result.checkpoint}")


data_app = typer.Typer(
    help="Datasets: download the published pix2pix and CycleGAN datasets; combine, split and check folders.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("list")
def data_list() -> None:
    """List the downloadable datasets with their collection and layout."""
    from i2i.data.download import DATASETS

    for (method, name), source in sorted(DATASETS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        note = "  (manual download)" if source.manual else ""
        typer.echo(f"  {name:<24} {method:<9} {source.layout}{note}")


@data_app.command("download")
@exits_on(
    ExitOn("i2i.data.download:ManualDownloadRequired", 2, prefix=""),  # the message is the instructions
    *(ExitOn(error, 1) for error in (KeyError, ValueError, RuntimeError, OSError)),
)
def data_download(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. facades, horse2zebra, edges2shoes.")],
    root: Annotated[Path, typer.Option(help="Parent folder of ROOT/NAME.")] = Path("datasets"),
    method: Annotated[
        str | None,
        typer.Option(help="pix2pix (aligned) or cyclegan (unaligned) for names in both; default pix2pix."),
    ] = None,
    mirror: Annotated[
        str | None, typer.Option(help="Mirror base URL (default: $I2I_DATASET_MIRROR, else Berkeley).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Download again even if already extracted.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Download dataset NAME into ROOT/NAME (resumes partial downloads; does nothing if present)."""
    from i2i.data.download import Method, download_dataset

    if method not in (None, "pix2pix", "cyclegan"):
        raise typer.BadParameter("must be pix2pix or cyclegan", param_hint="--method")
    collection: Method | None = None if method is None else "pix2pix" if method == "pix2pix" else "cyclegan"
    result = download_dataset(name, root, method=collection, base_url=mirror, force=force, progress=progress)
    source = result.source
    if result.already_present:
        typer.echo(f"{source.name} is already in {result.path} (--force downloads it again)")
    else:
        typer.echo(f"{source.name} ({source.method}, {source.layout} layout) is ready in {result.path}")


@data_app.command("combine")
@exits_on(*BAD_INPUT)
def data_combine(
    folder_a: Annotated[Path, typer.Argument(help="A images: A/train, A/test ... or the images themselves.")],
    folder_b: Annotated[Path, typer.Argument(help="B images with the same names (any suffix).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Destination: an aligned dataset (OUT/SPLIT).")],
    resize: Annotated[
        bool, typer.Option(help="Scale a B image of another size to its A image's size (else skipped).")
    ] = False,
    quality: Annotated[int, typer.Option(min=1, max=100, help="JPEG / WebP quality.")] = 95,
) -> None:
    """Write A | B side-by-side pairs of same-named images (the aligned layout, like combine_A_and_B).

    Exit status 1 when some files were left out (listed: no partner, sizes differ, unreadable).
    """
    from i2i.data.prepare import combine_folders

    report = combine_folders(folder_a, folder_b, out, resize_b=resize, quality=quality)
    for line in report.lines():
        typer.echo(line)
    raise typer.Exit(0 if report.ok else 1)


@data_app.command("split")
@exits_on(*BAD_INPUT)
def data_split(
    folder: Annotated[Path, typer.Argument(help="Images to split (or a folder with A/ and B/ sub-folders).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Destination of OUT/train, OUT/test, OUT/val.")],
    test: Annotated[float, typer.Option(help="Fraction of the images for test.")] = 0.1,
    val: Annotated[float, typer.Option(help="Fraction of the images for val (0: no val split).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the permutation (same seed, same split).")] = 0,
    link: Annotated[
        bool, typer.Option("--link/--copy", help="Hard-link the files (same file system) or copy them.")
    ] = False,
    unaligned: Annotated[
        bool, typer.Option(help="A/ and B/ sub-folders: write OUT/trainA, OUT/testA ... (CycleGAN).")
    ] = False,
) -> None:
    """Split FOLDER into train / test (and val) deterministically; pairs in A/ and B/ stay together."""
    from i2i.data.prepare import split_folder

    report = split_folder(
        folder, out, test=test, val=val, seed=seed, mode="link" if link else "copy", unaligned=unaligned
    )
    for line in report.lines():
        typer.echo(line)


@data_app.command("check")
@exits_on(*BAD_INPUT)
def data_check(
    root: Annotated[Path, typer.Argument(help="Dataset folder (a recipe's data.root).")],
    layout: Annotated[
        str | None, typer.Option(help="aligned, paired, unaligned or single [default: detected].")
    ] = None,
) -> None:
    """Report what ROOT would be read as: layout, images per split and domain, sizes, unreadable files.

    Exit status 1 when an image cannot be read or the layout leaves files out.
    """
    from i2i.data.check import check_folder

    result = check_folder(root, layout)
    for line in result.lines():
        typer.echo(line)
    raise typer.Exit(0 if result.ok else 1)


MISSING_EXTRA = ExitOn("i2i.extras:MissingExtraError", 2)
"""An optional package (``pip install i2i[EXTRA]``) that a chosen option needs."""


pretrained_app = typer.Typer(
    help="Pretrained models: the reference's published CycleGAN and pix2pix generators as i2i weights.",
    no_args_is_help=True,
)
app.add_typer(pretrained_app, name="pretrained")


@pretrained_app.command("list")
def pretrained_list() -> None:
    """List the published generators: name, collection, architecture, dataset and direction."""
    from i2i.pretrained import PRETRAINED, pretrained_dir

    for (method, name), model in sorted(PRETRAINED.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        typer.echo(f"  {name:<24} {method:<9} {model.arch:<15} {model.direction} of {model.dataset}")
    typer.echo(f"downloads go to {pretrained_dir()} ($I2I_CACHE/pretrained) unless --out is given")


@pretrained_app.command("download")
@exits_on(*(ExitOn(error, 1) for error in (KeyError, ValueError, RuntimeError, OSError)))
def pretrained_download(
    name: Annotated[str, typer.Argument(help="Model name, e.g. horse2zebra, style_monet, edges2shoes.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder [default: ~/.cache/i2i/pretrained].")
    ] = None,
    method: Annotated[
        str | None, typer.Option(help="pix2pix or cyclegan for names in both; default pix2pix.")
    ] = None,
    mirror: Annotated[
        str | None, typer.Option(help="Mirror base URL (default: $I2I_PRETRAINED_MIRROR, else Berkeley).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Download and convert again.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Download model NAME and convert it into i2i weights (resumes partial downloads)."""
    from i2i.pretrained import Collection, download_pretrained

    if method not in (None, "pix2pix", "cyclegan"):
        raise typer.BadParameter("must be pix2pix or cyclegan", param_hint="--method")
    collection: Collection | None = (
        None if method is None else "pix2pix" if method == "pix2pix" else "cyclegan"
    )
    result = download_pretrained(
        name,
        out,
        method=collection,
        base_url=mirror,
        force=force,
        progress=progress,
    )
    model = result.model
    state = "is already in" if result.already_present else "is ready in"
    typer.echo(f"{model.name} ({model.method}, {model.arch}) {state} {result.path}")
    typer.echo(f"use it: i2i translate PHOTOS --model {result.path} --out OUT")


@app.command()
@exits_on(MISSING_EXTRA, *BAD_INPUT)
def translate(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Image files and folders (searched recursively); with --engine ray also one object-store "
            "folder (s3://bucket/photos).",
            show_default=False,
        ),
    ] = None,
    *,
    model: Annotated[
        Path,
        typer.Option(
            "--model",
            "-m",
            help=".onnx file, .safetensors weights, checkpoint or run directory, or a downloaded "
            "pretrained model's name (see `i2i pretrained list`).",
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out", "-o", help="Output folder (with --engine ray also s3://...); relative paths are kept."
        ),
    ],
    batch_size: Annotated[int, typer.Option(help="Images (or tiles) per network call.")] = 4,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, tensorrt (ONNX) or mps (PyTorch).")] = "auto",
    backend: Annotated[
        str,
        typer.Option(
            help="auto (by the file: .onnx onnxruntime, .xml openvino, weights pytorch), onnxruntime, "
            "openvino (CPU; pip install i2i[openvino]) or pytorch."
        ),
    ] = "auto",
    precision: Annotated[
        str | None,
        typer.Option(
            help="PyTorch: fp32 (default), bf16 or fp16 (CUDA); OpenVINO: auto (default: bf16 where the "
            "CPU has it, else fp32), fp32, bf16 or int8 (an int8 .xml from i2i export --format openvino)."
        ),
    ] = None,
    resize: Annotated[int | None, typer.Option(help="Scale the shorter side to this many pixels.")] = None,
    tile: Annotated[int | None, typer.Option(help="Translate large images in tiles of this side.")] = None,
    overlap: Annotated[int, typer.Option(help="Overlap of neighbouring tiles in pixels.")] = 32,
    tile_statistics: Annotated[
        str,
        typer.Option(
            help="Instance-norm models, tiled: whole (the whole image's statistics, measured in one pass per "
            "norm layer; matches whole-image output; not for OpenVINO .xml) or tile (each tile's own; one pass)."
        ),
    ] = "whole",
    output_format: Annotated[str, typer.Option("--format", help="same, png or jpg.")] = "same",
    quality: Annotated[int, typer.Option(help="JPEG / WebP quality, 1-100.")] = 95,
    skip_existing: Annotated[bool, typer.Option(help="Skip inputs whose output already exists.")] = False,
    direction: Annotated[
        str | None, typer.Option(help="PyTorch files with both generators: a2b or b2a.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Reader and writer threads (each).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    domain: Annotated[
        str | None, typer.Option(help="Multi-domain (StarGAN) models: the target domain name.")
    ] = None,
    files_from: Annotated[
        Path | None, typer.Option(help="A text file of more image paths, one a line (relative to it).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "--num", min=1, help="Translate only the first N images.")
    ] = None,
    scale_width: Annotated[
        int | None, typer.Option(min=1, help="Scale each image to this width, keeping its aspect ratio.")
    ] = None,
    crop: Annotated[
        int | None, typer.Option(min=1, help="Translate the centred N x N crop (after any resize).")
    ] = None,
    html: Annotated[
        bool, typer.Option("--html", help="Write OUT/index.html: input | output (| target), paginated.")
    ] = False,
    targets: Annotated[
        Path | None,
        typer.Option(
            help="Folder of target images with the inputs' names: a target column (implies --html)."
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="local (this machine's threads) or ray (Ray Data: a cluster, object stores, a resumable "
            "manifest; ONNX models; pip install i2i[ray])."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="--engine ray: the Ray cluster (auto, HOST:PORT); default: start Ray here."),
    ] = None,
    actors: Annotated[
        int | None,
        typer.Option(min=1, help="--engine ray: inference actors (default: one per GPU, else one)."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="--engine ray: the job's record of finished files, for resuming "
            "(default OUT/.i2i-manifest.jsonl; needed for an s3:// --out)."
        ),
    ] = None,
) -> None:
    """Translate INPUTS (files, folders, --files-from) with MODEL into OUT; exit status 1 if any image failed."""
    from i2i.infer import Translator
    from i2i.infer.inputs import collect_inputs
    from i2i.infer.pipeline import OutputFormat, translate_folder
    from i2i.pretrained import resolve_model

    geometry: dict[str, Any] = {"batch_size": batch_size, "tile": tile, "overlap": overlap, "resize": resize}
    geometry |= {"scale_width": scale_width, "crop": crop, "domain": domain, "device": device}
    geometry["tile_statistics"] = tile_statistics  # checked by Translator
    page = html or targets is not None
    if engine == "ray":
        from i2i.infer.ray_engine import translate_with_ray
        from i2i.infer.storage import is_remote

        if backend not in ("auto", "onnxruntime") or precision or direction:
            raise ValueError(
                "--engine ray runs ONNX models on ONNX Runtime: --backend, --precision and --direction "
                "do not apply"
            )
        if page and any(is_remote(location) for location in [*(inputs or []), out]):
            raise ValueError("--html and --targets need local input and output folders")
        summary = translate_with_ray(
            inputs or [],
            out,
            resolve_model(model),
            options=geometry,
            list_file=files_from,
            limit=limit,
            output_format=output_format,
            quality=quality,
            skip_existing=skip_existing,
            manifest=manifest,
            address=address,
            actors=actors,
            progress=progress,
            record_outputs=page,
        )
        items = collect_inputs(inputs or [], list_file=files_from, limit=limit) if page else []
        _report(summary, Path(out), items, targets, model, page)
    if engine != "local":
        raise ValueError(f"--engine must be local or ray, got {engine!r}")
    translator = Translator(
        resolve_model(model),
        backend=backend,
        mode="throughput",
        precision=precision,
        direction=direction,
        **geometry,
    )
    items = collect_inputs(inputs or [], list_file=files_from, limit=limit)  # after the model's checks
    summary = translate_folder(
        translator,
        items,
        Path(out),
        output_format=cast(OutputFormat, output_format),  # checked by translate_folder
        quality=quality,
        skip_existing=skip_existing,
        workers=workers,
        progress=progress,
    )
    _report(summary, Path(out), items, targets, model, page)


def _report(
    summary: TranslateSummary, out: Path, items: list[Any], targets: Path | None, model: Path, page: bool
) -> NoReturn:
    """Print ``i2i translate``'s summary (and write its results page); exit 1 if any image failed."""
    for line in summary.lines():
        typer.echo(line)
    if page:
        typer.echo(f"results page: {_results_page(out, items, summary.outputs, targets, model)}")
    raise typer.Exit(0 if summary.ok else 1)


def _results_page(
    out: Path, items: list[Any], outputs: list[tuple[Path, Path]], targets: Path | None, model: Path
) -> Path:
    """Write the results page of ``i2i translate --html`` and return its first page."""
    from i2i.infer.results_page import ResultRow, find_targets, write_results_page

    if targets is not None and not targets.is_dir():
        raise FileNotFoundError(f"{targets}: no such folder (--targets)")
    found = find_targets(items, targets) if targets is not None else {}
    names = {item.path: item.relative.as_posix() for item in items}
    rows = [ResultRow(names[src], src, dst, found.get(src)) for src, dst in outputs]
    notes = {"model": str(model), "images": str(len(rows))}
    if targets is not None:
        notes["targets"] = f"{targets} ({sum(row.target is not None for row in rows)} found)"
    return write_results_page(out, rows, title=f"i2i translate: {out.name}", notes=notes)[0]


@app.command("eval")
@exits_on(ExitOn("i2i.metrics:InceptionWeightsError", 2), MISSING_EXTRA, *BAD_INPUT)
def eval_command(
    model: Annotated[
        Path, typer.Argument(help=".onnx file, .safetensors weights, checkpoint or run directory.")
    ],
    data: Annotated[
        Path | None, typer.Option(help="Dataset root (default: the recipe's data.root; none for synthetic).")
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Test split (default: the recipe's data.test_split).")
    ] = None,
    layout: Annotated[
        str | None, typer.Option(help="aligned, paired, unaligned ... (default: the recipe's, or detected).")
    ] = None,
    direction: Annotated[str | None, typer.Option(help="Files with both generators: a2b or b2a.")] = None,
    inception_weights: Annotated[
        str | None,
        typer.Option(
            help="pt_inception-2015-12-05-6726825d.pth (default: $I2I_INCEPTION_WEIGHTS, cache, download)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Images per batch.")] = 16,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, mps (tensorrt for ONNX).")] = "auto",
    backend: Annotated[
        str, typer.Option(help="auto (by the file), onnxruntime, openvino (CPU) or pytorch.")
    ] = "auto",
    precision: Annotated[
        str | None,
        typer.Option(help="PyTorch: fp32, bf16, fp16; OpenVINO: auto, fp32, bf16, int8 (see i2i translate)."),
    ] = None,
    max_images: Annotated[
        int | None, typer.Option(help="Use at most this many test images per side.")
    ] = None,
    fid_method: Annotated[
        str, typer.Option(help="exact (fast) or sqrtm (pytorch-fid's steps, slow).")
    ] = "exact",
    metrics: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated, from psnr,ssim,l1,fid,kid (default: psnr,ssim,l1 when paired, "
            "plus fid,kid when the Inception weights are at hand; fid,kid when unpaired)."
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score MODEL on its test split: PSNR/SSIM/L1 when paired, FID and KID against real targets."""
    import json

    from i2i.metrics.evaluate import evaluate, format_rows, skipped_note

    result = evaluate(
        model,
        data_root=data,
        split=split,
        layout=layout,
        direction=direction,
        inception_weights=inception_weights,
        batch_size=batch_size,
        device=device,
        backend=backend,
        precision=precision,
        max_images=max_images,
        fid_method=fid_method,
        metrics=None if metrics is None else [name.strip() for name in metrics.split(",") if name.strip()],
    )
    note = skipped_note(result)
    if note:
        typer.echo(note, err=True)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"i2i eval {model}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in format_rows(result):
        table.add_row(name, value)
    Console().print(table)


@app.command()
@exits_on(*BAD_INPUT)
def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by i2i train.")],
    samples: Annotated[int, typer.Option(help="Test translations in the gallery.")] = 8,
    device: Annotated[str, typer.Option(help="Where the gallery's translations run.")] = "cpu",
) -> None:
    """Write RUN_DIR/report.html: recipe, loss and metric curves, checkpoints and test translations."""
    from i2i.metrics.report import write_report

    path = write_report(run_dir, num_samples=samples, device=device)
    typer.echo(f"wrote {path}")


@app.command()
@exits_on(ExitOn("i2i.export:VerifyError", 1), MISSING_EXTRA, *BAD_INPUT)
def export(
    source: Annotated[
        Path,
        typer.Argument(
            help="Run directory, checkpoint directory, .safetensors weights, or a reference "
            "pytorch-CycleGAN-and-pix2pix latest_net_G.pth (with --arch)."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Destination .onnx file (.xml for --format openvino).")
    ],
    direction: Annotated[
        str | None, typer.Option(help="a2b or b2a (files with both generators; recorded for .pth files).")
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="onnx, or openvino: an OpenVINO IR .xml + .bin, fp32 or int8 quantised by NNCF "
            "(pip install i2i[openvino]).",
        ),
    ] = "onnx",
    precision: Annotated[
        str, typer.Option(help="fp32, fp16 (for GPUs; float32 in and out) or int8 (needs --calibrate).")
    ] = "fp32",
    calibrate: Annotated[
        Path | None, typer.Option(help="int8: folder of images like those the model will translate.")
    ] = None,
    calibrate_method: Annotated[str, typer.Option(help="int8: percentile or minmax.")] = "percentile",
    calibrate_size: Annotated[
        int | None,
        typer.Option(help="int8: square size of calibration crops.", show_default="the training crop"),
    ] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset (17 or newer).")] = 18,
    arch: Annotated[
        str | None, typer.Option(help="Reference .pth files: the generator (--netG), e.g. unet_256.")
    ] = None,
    in_channels: Annotated[int, typer.Option(help="Reference .pth files: --input_nc.")] = 3,
    out_channels: Annotated[int, typer.Option(help="Reference .pth files: --output_nc.")] = 3,
    verify: Annotated[
        bool, typer.Option(help="Compare ONNX Runtime with PyTorch at two sizes after export.")
    ] = True,
) -> None:
    """Export the generator in SOURCE to ONNX (eval mode; dynamic batch, height and width)."""
    from i2i.export import export_onnx_with_report, load_source
    from i2i.files import refuse_overwriting
    from i2i.weights import resolve_weights_file

    inputs = [source]
    if source.exists() and source.suffix not in (".pth", ".pt", ".onnx"):
        inputs.append(resolve_weights_file(source))
    refuse_overwriting(out, *inputs)
    generator, card = load_source(
        source, direction=direction, arch=arch, in_channels=in_channels, out_channels=out_channels
    )
    report = export_onnx_with_report(
        generator,
        card,
        out,
        opset=opset,
        precision=precision,
        calibration_images=calibrate,
        calibration_size=calibrate_size,
        calibrate_method=calibrate_method,
        verify=verify,
        output_format=output_format,
    )
    files = [out, out.with_suffix(".bin")] if output_format == "openvino" else [out]
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    typer.echo(
        f"wrote {out} ({card.arch}, {card.method} {card.direction}, {precision}, {size_mb:.1f} MB) "
        f"in {report.seconds:.1f} s"
    )
    if report.calibration is not None:
        typer.echo(f"int8 vs fp32 on the calibration images: {report.calibration}")
    if report.verify is not None:
        typer.echo(str(report.verify))
        if not report.verify.within_bound:
            typer.echo(f"warning: {out}: error above the expected bound for {precision}", err=True)


@app.command()
@exits_on(MISSING_EXTRA, *BAD_INPUT)
def info(
    model: Annotated[
        Path, typer.Argument(help="An exported .onnx or OpenVINO .xml file, or .safetensors weights.")
    ],
) -> None:
    """Print what a model file says about itself: architecture, channels, value range, sizes, precision."""
    from i2i.export import read_onnx_card
    from i2i.weights import read_model_cards

    if not model.is_file():
        raise ValueError(f"{model}: no such file")
    if model.suffix not in (".onnx", ".xml", ".safetensors"):
        raise ValueError(
            f"{model}: i2i info reads .onnx, OpenVINO .xml and .safetensors files "
            "(for a reference .pth file, run `i2i import-reference` first)"
        )
    if model.suffix in (".onnx", ".xml"):
        if model.suffix == ".xml":
            from i2i.infer.openvino import read_openvino_model

            card = read_openvino_model(model)[1]
        else:
            card = read_onnx_card(model)
        rows = {
            "arch": card.arch,
            "method": card.method,
            "direction": card.direction,
            "input kind": card.input_kind,
            "channels": f"{card.in_channels} -> {card.out_channels}",
            "value range": f"{card.value_range[0]:g} .. {card.value_range[1]:g}",
            "size multiple": card.size_multiple,
            "crop size": card.crop_size,
            "precision": card.precision,
            "mode": "eval (batch-norm running statistics, no dropout)",
            "input": f"{card.input_name} (batch, {card.in_channels}, height, width) float32",
            "output": f"{card.output_name} (batch, {card.out_channels}, height, width) float32",
            **({"domains": ", ".join(card.domains)} if card.domains else {}),
            "i2i version": card.version,
            "recipe": f"{len(card.recipe.splitlines())} lines" if card.recipe else "(none)",
        }
        for key, value in rows.items():
            typer.echo(f"{key + ':':<15}{value}")
        return
    cards = read_model_cards(model)
    if not cards:
        raise ValueError(f"{model}: holds no i2i generator description")
    for card in cards:
        kwargs = ", ".join(f"{k}={v}" for k, v in sorted(card.kwargs.items()))
        typer.echo(f"{card.direction}: {card.arch}({kwargs})")
        typer.echo(
            f"  method {card.method}, input {card.input_kind}, crop size {card.crop_size}, "
            f"value range {card.value_range}, size multiple {card.size_multiple}"
        )
        for label, names in (("domains", card.domains), ("classes", card.classes)):
            if names:
                typer.echo(f"  {label} {', '.join(names)}")
        if card.teacher:
            typer.echo(f"  distilled from {card.teacher.get('arch')} ({card.teacher.get('source', '?')})")
        typer.echo(
            f"  tensors prefixed {card.key_prefix!r}" + "".join(f", {k} {v}" for k, v in card.extra.items())
        )


@app.command("import-reference")
@exits_on(*BAD_INPUT, ExitOn(RuntimeError, 2))
def import_reference(
    file: Annotated[Path, typer.Argument(help="Reference pytorch-CycleGAN-and-pix2pix latest_net_G.pth.")],
    arch: Annotated[str, typer.Option(help="Its generator (--netG): resnet_9blocks, unet_256 ...")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Destination .safetensors file.")],
    direction: Annotated[str, typer.Option(help="a2b or b2a: what the generator translates.")] = "a2b",
    in_channels: Annotated[int, typer.Option(help="Its --input_nc.")] = 3,
    out_channels: Annotated[int, typer.Option(help="Its --output_nc.")] = 3,
) -> None:
    """Convert a reference generator checkpoint into i2i weights that translate and export accept."""
    from i2i.export.onnx import load_reference_source
    from i2i.files import refuse_overwriting
    from i2i.weights import save_weights

    if not file.is_file():
        raise ValueError(f"{file}: no such file")
    refuse_overwriting(out, file)
    generator, card = load_reference_source(
        file, arch, direction=direction, in_channels=in_channels, out_channels=out_channels
    )
    save_weights(out, generator.state_dict(), [card])
    typer.echo(
        f"wrote {out} ({arch}, base_channels {card.kwargs['base_channels']}, {card.kwargs['norm']} norm)"
    )
