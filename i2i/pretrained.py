"""The reference's published CycleGAN and pix2pix generators, by name, as i2i weights.

The names and sources are those of the reference scripts (``scripts/download_cyclegan_model.sh`` and
``scripts/download_pix2pix_model.sh`` in junyanz/pytorch-CycleGAN-and-pix2pix):
``{base}/cyclegan/pretrained_models/NAME.pth`` and ``{base}/pix2pix/models-pytorch/NAME.pth``, with
``base = https://efrosgans.eecs.berkeley.edu`` (``I2I_PRETRAINED_MIRROR`` or ``base_url`` for a mirror
with the same folders). Each file is one generator's ``state_dict``: CycleGAN's are ``resnet_9blocks``
with instance norm, pix2pix's ``unet_256`` with batch norm, RGB in and out (64 base channels, read
from the file).

:func:`download_pretrained` fetches the file with :func:`i2i.data.download.download_file` (streamed to
``.part``, resumed with HTTP ``Range``, size checked against ``Content-Length``; upstream publishes no
checksums), then converts it at once: every tensor is paired with the architecture's layers and its
shape checked (:func:`i2i.export.reference.convert_reference_state_dict`), and the result is written
as ``NAME.safetensors`` with its :class:`~i2i.card.ModelCard` (method, direction, source URL), which
``i2i translate``, ``i2i export`` and :class:`~i2i.Translator` read like any i2i weights. The ``.pth``
is deleted after a successful conversion. Files land in ``$I2I_CACHE/pretrained`` (default
``~/.cache/i2i/pretrained``) or the folder given; a second call finds the converted file and does
nothing.

``sat2map``, ``map2sat`` and ``facades_label2photo`` exist in both collections; as for datasets
(:func:`i2i.data.download.find_dataset`) pix2pix's is chosen unless ``method="cyclegan"`` is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.error import HTTPError, URLError

from i2i.card import ModelCard
from i2i.data.download import DEFAULT_BASE_URL, DownloadError, download_file, find_in_collections
from i2i.files import cache_dir

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "MIRROR_ENV",
    "PRETRAINED",
    "Collection",
    "PretrainedModel",
    "PretrainedResult",
    "download_pretrained",
    "find_pretrained",
    "pretrained_dir",
    "pretrained_url",
    "resolve_model",
]

Collection = Literal["pix2pix", "cyclegan"]
_COLLECTIONS: tuple[Collection, ...] = ("pix2pix", "cyclegan")  # the order in which a shared name is found
MIRROR_ENV = "I2I_PRETRAINED_MIRROR"


@dataclass(frozen=True)
class PretrainedModel:
    """One published generator.

    Attributes:
        name: The reference's model name (``horse2zebra``, ``style_monet`` ...).
        method: ``"cyclegan"`` or ``"pix2pix"``: the collection, which fixes the architecture.
        dataset: The dataset it was trained on (``i2i data download`` names).
        direction: ``"a2b"`` or ``"b2a"`` in that dataset's A / B order.
    """

    name: str
    method: Collection
    dataset: str
    direction: Literal["a2b", "b2a"]

    @property
    def arch(self) -> str:
        """CycleGAN's models are ResNet-9 generators, pix2pix's U-Net-256."""
        return "resnet_9blocks" if self.method == "cyclegan" else "unet_256"

    @property
    def norm(self) -> str:
        """CycleGAN's models use instance norm, pix2pix's batch norm."""
        return "instance" if self.method == "cyclegan" else "batch"

    @property
    def remote_path(self) -> str:
        folder = "cyclegan/pretrained_models" if self.method == "cyclegan" else "pix2pix/models-pytorch"
        return f"{folder}/{self.name}.pth"


def _models(method: Collection, entries: str) -> dict[tuple[Collection, str], PretrainedModel]:
    """``"name:dataset:direction ..."`` -> the catalogue entries of one collection."""
    models = {}
    for entry in entries.split():
        name, dataset, direction = entry.split(":")
        assert direction in ("a2b", "b2a")
        models[(method, name)] = PretrainedModel(name, method, dataset, direction)  # type: ignore[arg-type]
    return models


# A / B of the datasets as the reference names them: apple/orange, summer/winter, horse/zebra,
# painting/photo (monet2photo ...), satellite/map (maps), photo/label (cityscapes, facades), night/day.
PRETRAINED: dict[tuple[Collection, str], PretrainedModel] = {
    **_models(
        "cyclegan",
        "apple2orange:apple2orange:a2b orange2apple:apple2orange:b2a "
        "summer2winter_yosemite:summer2winter_yosemite:a2b winter2summer_yosemite:summer2winter_yosemite:b2a "
        "horse2zebra:horse2zebra:a2b zebra2horse:horse2zebra:b2a "
        "monet2photo:monet2photo:a2b style_monet:monet2photo:b2a style_cezanne:cezanne2photo:b2a "
        "style_ukiyoe:ukiyoe2photo:b2a style_vangogh:vangogh2photo:b2a "
        "sat2map:maps:a2b map2sat:maps:b2a "
        "cityscapes_photo2label:cityscapes:a2b cityscapes_label2photo:cityscapes:b2a "
        "facades_photo2label:facades:a2b facades_label2photo:facades:b2a "
        "iphone2dslr_flower:iphone2dslr_flower:a2b",
    ),
    **_models(
        "pix2pix",
        "edges2shoes:edges2shoes:a2b sat2map:maps:a2b map2sat:maps:b2a "
        "facades_label2photo:facades:b2a day2night:night2day:b2a",
    ),
}
"""Every published generator by (collection, name); no checksums are published upstream."""


@dataclass(frozen=True)
class PretrainedResult:
    """Outcome of :func:`download_pretrained`: the converted weights file and whether it was fetched."""

    path: Path
    model: PretrainedModel
    already_present: bool


def find_pretrained(name: str, method: Collection | None = None) -> PretrainedModel:
    """Look ``name`` up; with ``method=None`` pix2pix's wins where both collections have it.

    Raises:
        KeyError: An unknown name (with close matches and the known names).
    """
    return find_in_collections(PRETRAINED, name, method, what="pretrained model")


def pretrained_dir() -> Path:
    """The default folder of converted pretrained weights: ``$I2I_CACHE/pretrained``."""
    return cache_dir() / "pretrained"


def pretrained_url(model: PretrainedModel, base_url: str | None = None) -> str:
    """``{base}/{folder}/{name}.pth``; base from the argument, ``I2I_PRETRAINED_MIRROR`` or Berkeley."""
    base = (base_url or os.environ.get(MIRROR_ENV) or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/{model.remote_path}"


def _file_name(model: PretrainedModel) -> str:
    """``horse2zebra.safetensors``; a name in both collections gets the collection (``sat2map-cyclegan``)."""
    shared = sum(n == model.name for (_, n) in PRETRAINED) > 1
    return f"{model.name}{'-' + model.method if shared and model.method == 'cyclegan' else ''}.safetensors"


def download_pretrained(
    name: str,
    out: str | Path | None = None,
    *,
    method: Collection | None = None,
    base_url: str | None = None,
    force: bool = False,
    progress: bool = False,
    timeout: float = 60.0,
) -> PretrainedResult:
    """Download the published generator ``name`` and convert it into i2i weights (idempotent).

    Args:
        name: A name in :data:`PRETRAINED` (``horse2zebra``, ``facades_label2photo`` ...).
        out: Folder for ``NAME.safetensors``; default :func:`pretrained_dir`.
        method: ``"pix2pix"`` or ``"cyclegan"`` for the names both collections publish.
        base_url: Mirror base URL (see :func:`pretrained_url`).
        force: Download and convert again even if the weights are there.
        progress: Show a progress bar on stderr.
        timeout: Socket timeout in seconds.

    Returns:
        A :class:`PretrainedResult`; ``path`` is a weights file for ``i2i translate --model``.

    Raises:
        KeyError: An unknown name.
        DownloadError: The transfer failed (the ``.part`` file stays, the next call resumes), or the
            downloaded file is not the expected generator (then it is removed).
    """
    from i2i.weights import WeightsError, read_model_cards, save_weights  # torch: only to download

    model = find_pretrained(name, method)
    folder = Path(out).expanduser() if out is not None else pretrained_dir()
    target = folder / _file_name(model)
    if target.is_file() and not force:
        try:
            read_model_cards(target)
            return PretrainedResult(target, model, already_present=True)
        except WeightsError:
            pass  # damaged: fetch it again
    folder.mkdir(parents=True, exist_ok=True)
    url = pretrained_url(model, base_url)
    raw = target.with_suffix(".pth")
    if not raw.is_file() or force:
        try:
            download_file(url, raw, progress=progress, timeout=timeout)
        except DownloadError as error:
            cause = error.__cause__
            if isinstance(cause, URLError) and not isinstance(cause, HTTPError):  # no route to the server
                raise DownloadError(
                    f"{model.name}: cannot reach {url} ({cause.reason}); are you offline? Download it on a "
                    f"machine with internet access (or set {MIRROR_ENV}) and copy {target.name} into {folder}"
                ) from None
            raise
    try:
        generator, card = _convert(raw, model, url)
    except ValueError as error:  # not a state dict, or not this architecture: a bad file, never kept
        raw.unlink(missing_ok=True)
        raise DownloadError(f"{url}: the downloaded file is not the expected generator ({error})") from None
    save_weights(target, generator.state_dict(), [card])
    raw.unlink()
    return PretrainedResult(target, model, already_present=False)


def _convert(path: Path, model: PretrainedModel, url: str) -> tuple[nn.Module, ModelCard]:
    """The reference file as a generator of ``model``'s architecture and its card (shapes checked)."""
    from torch import nn

    from i2i.card import describe_generator
    from i2i.export.reference import load_reference_generator

    generator = load_reference_generator(path, model.arch, norm=model.norm)  # base channels: 64 published
    base_channels = next(m for m in generator.modules() if isinstance(m, nn.Conv2d)).out_channels
    kwargs = {"in_channels": 3, "out_channels": 3, "base_channels": base_channels, "norm": model.norm}
    card = describe_generator(
        generator,
        arch=model.arch,
        kwargs=kwargs | {"dropout": 0.0},
        method=model.method,
        direction=model.direction,
        extra={"pretrained": model.name, "dataset": model.dataset, "source": url},
    )
    return generator, card


def resolve_model(model: Path) -> Path:
    """``model`` itself when it exists; a pretrained model's name -> its downloaded weights file.

    Raises:
        FileNotFoundError: A pretrained name that was not downloaded yet (says how), or neither a
            file nor a name.
    """
    if model.exists() or model.parent != Path("."):
        return model
    name = str(model)
    if not any(n == name for (_, n) in PRETRAINED):
        return model  # the caller reports the missing file
    for collection in _COLLECTIONS:
        if (collection, name) in PRETRAINED:
            candidate = pretrained_dir() / _file_name(PRETRAINED[(collection, name)])
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"{name}: a pretrained model that is not downloaded yet; run `i2i pretrained download {name}` "
        f"(it is stored in {pretrained_dir()})"
    )
