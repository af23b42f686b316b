"""The ``i2i`` command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from i2i import __version__

app = typer.Typer(
    name="i2i",
    help="Image-to-image translation: train pix2pix / CycleGAN, export to ONNX, translate folders.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
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

    registries = {"generators": GENERATORS, "discriminators": DISCRIMINATORS, "GAN objectives": GAN_MODES}
    for title, registry in registries.items():
        typer.echo(f"{title}:")
        for name, summary in registry.describe().items():
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
def train(
    recipe: Annotated[
        str, typer.Argument(help="Recipe YAML file or bundled recipe name (see `i2i recipes`).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory [default: runs/NAME].")
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
) -> None:
    """Train the method that RECIPE describes; run it again to resume, Ctrl-C saves a checkpoint."""
    from i2i.config import RecipeError, load_recipe
    from i2i.train import NonFiniteLossError, RunDirError
    from i2i.train import train as run_training

    try:
        loaded = load_recipe(recipe, overrides or [])
    except RecipeError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    run_dir = out if out is not None else Path("runs") / loaded.name
    try:
        result = run_training(loaded, run_dir, resume=resume, force=force, progress=progress)
    except RunDirError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    except (NonFiniteLossError, ValueError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        typer.echo(f"interrupted; checkpoint saved in {run_dir}; run the same command to resume", err=True)
        raise typer.Exit(130) from None
    typer.echo(f"trained {result.step} steps ({result.epoch} epochs) in {result.seconds:.0f} s")
    typer.echo(f"checkpoint:  {result.checkpoint}")
    typer.echo(f"samples:     {result.sample_grid}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the two demo runs.")] = Path(
        "runs/demo"
    ),
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train a small pix2pix and a small CycleGAN on built-in synthetic data (a few minutes on a CPU)."""
    from i2i.config import load_recipe
    from i2i.train import train as run_training

    for name in ("demo_pix2pix", "demo_cyclegan"):
        recipe = load_recipe(name)
        typer.echo(f"{name}: {recipe.description}")
        result = run_training(recipe, out / name, progress=progress)
        typer.echo(f"  {result.step} steps in {result.seconds:.0f} s; sample grid: {result.sample_grid}")
        typer.echo(f"  checkpoint: {result.checkpoint}")


data_app = typer.Typer(
    help="Datasets: download the published pix2pix and CycleGAN datasets.", no_args_is_help=True
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
    from i2i.data.download import ManualDownloadRequired, Method, download_dataset

    if method not in (None, "pix2pix", "cyclegan"):
        raise typer.BadParameter("must be pix2pix or cyclegan", param_hint="--method")
    collection: Method | None = None if method is None else "pix2pix" if method == "pix2pix" else "cyclegan"
    try:
        result = download_dataset(
            name, root, method=collection, base_url=mirror, force=force, progress=progress
        )
    except ManualDownloadRequired as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    except (KeyError, ValueError, RuntimeError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) else error
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from error
    source = result.source
    if result.already_present:
        typer.echo(f"{source.name} is already in {result.path} (--force downloads it again)")
    else:
        typer.echo(f"{source.name} ({source.method}, {source.layout} layout) is ready in {result.path}")


@app.command()
def translate(
    input_dir: Annotated[Path, typer.Argument(help="Folder of images, searched recursively.")],
    model: Annotated[
        Path,
        typer.Option("--model", "-m", help=".onnx file, .safetensors weights, checkpoint or run directory."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; relative paths are kept.")],
    batch_size: Annotated[int, typer.Option(help="Images (or tiles) per network call.")] = 4,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, tensorrt (ONNX) or mps (PyTorch).")] = "auto",
    precision: Annotated[
        str | None, typer.Option(help="PyTorch models: fp32 (default), bf16 or fp16 (CUDA).")
    ] = None,
    resize: Annotated[int | None, typer.Option(help="Scale the shorter side to this many pixels.")] = None,
    tile: Annotated[int | None, typer.Option(help="Translate large images in tiles of this side.")] = None,
    overlap: Annotated[int, typer.Option(help="Overlap of neighbouring tiles in pixels.")] = 32,
    output_format: Annotated[str, typer.Option("--format", help="same, png or jpg.")] = "same",
    quality: Annotated[int, typer.Option(help="JPEG / WebP quality, 1-100.")] = 95,
    skip_existing: Annotated[bool, typer.Option(help="Skip inputs whose output already exists.")] = False,
    direction: Annotated[
        str | None, typer.Option(help="PyTorch files with both generators: a2b or b2a.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Reader and writer threads (each).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Translate every image under INPUT_DIR with MODEL into OUT; exit status 1 if any image failed."""
    from i2i.infer import Translator

    try:
        translator = Translator(
            model,
            device=device,
            precision=precision,
            batch_size=batch_size,
            tile=tile,
            overlap=overlap,
            resize=resize,
            direction=direction,
        )
        summary = translator.translate_dir(
            input_dir,
            out,
            output_format=output_format,
            quality=quality,
            skip_existing=skip_existing,
            workers=workers,
            progress=progress,
        )
    except (ValueError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    for line in summary.lines():
        typer.echo(line)
    raise typer.Exit(0 if summary.ok else 1)
