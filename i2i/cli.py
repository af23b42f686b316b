"""The ``i2i`` command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

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
