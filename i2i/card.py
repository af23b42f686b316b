"""The model card: what a trained generator is and how to feed it, in one place.

Weights files (the safetensors header), exported ONNX models (``metadata_props``), ``i2i export``,
``i2i translate``, ``i2i eval`` and the Python :class:`~i2i.Translator` all read and write this one
record, so nothing downstream re-derives a generator's input kind, channels, value range or size
multiple from the network or a file name.

Two serialisations, both readable back from files written by earlier versions:

- :meth:`ModelCard.to_json` / :meth:`ModelCard.from_json`: a JSON object, stored per generator in a
  weights file's header (older headers lack ``input_kind``, ``size_multiple``, ``in_channels``,
  ``out_channels``, ``domains`` and ``classes``: they are derived from ``kwargs`` and ``extra``).
- :meth:`ModelCard.to_props` / :meth:`ModelCard.from_props`: flat ``{"i2i.key": "string"}`` entries, as
  ONNX's ``metadata_props`` requires (older files lack ``kwargs``, ``input_kind`` and ``classes``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from i2i import __version__

__all__ = ["IMAGE_INPUT_KINDS", "INPUT_KINDS", "CardError", "InputKind", "ModelCard", "describe_generator"]

InputKind = Literal["image", "image+domain", "noise+label"]
INPUT_KINDS: tuple[str, ...] = ("image", "image+domain", "noise+label")
"""What a generator reads: an image; an image and a target domain index (StarGAN); noise and a class
label (a conditional GAN, which draws images rather than translating them)."""
IMAGE_INPUT_KINDS: tuple[str, ...] = ("image", "image+domain")
"""Input kinds that ``i2i export`` and ``i2i translate`` can run: image-to-image generators."""

_PREFIX = "i2i."


class CardError(ValueError):
    """A model card that cannot be read, or a model that cannot be used as asked; names the source."""


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to rebuild one generator and feed it correctly.

    Attributes:
        arch: Registered generator name (``"resnet_9blocks"``).
        kwargs: Builder keyword arguments (``in_channels``, ``out_channels``, ``base_channels``,
            ``norm`` ...); the image channels are read from them (:attr:`in_channels`).
        input_kind: ``"image"``, ``"image+domain"`` (StarGAN) or ``"noise+label"`` (cgan).
        value_range: ``(low, high)``; uint8 pixels ``p`` are fed as ``low + p / 255 * (high - low)``.
        size_multiple: Height and width must be multiples of this (pad, then crop back).
        min_size: Smallest height and width the network takes after padding to the size multiple
            (a ResNet's residual blocks reflect-pad the 1/4-scale features, so it needs 8 px); cards
            written before the field have 1, and :attr:`min_side` still counts the size multiple.
        domains: Target domain names of a multi-domain generator, in index order (empty otherwise).
        classes: Class names of a class-conditional generator, in label order (empty otherwise).
        method: The method that trained it (``"cyclegan"``, ``"pix2pix"``, ``"reference"``).
        direction: ``"a2b"`` or ``"b2a"``: which domain the generator maps from.
        crop_size: Training crop size in pixels, or ``None`` when unknown.
        recipe: The resolved recipe as YAML text ("" when unknown).
        precision: Numeric precision of the stored model: ``fp32``, ``fp16``, ``bf16`` or ``int8``.
        key_prefix: Prefix of its tensors in a weights file (``"g_ab."``; "" for a lone generator).
        input_name: Name of the image input of an exported graph.
        output_name: Name of the image output of an exported graph.
        version: The i2i version that wrote the card.
        extra: Free-form string metadata (for example the source file of an imported model).
        teacher: For a generator distilled from another (method ``"distill"``): the teacher's
            ``arch``, ``kwargs``, ``method`` and ``source`` (the file it was read from); empty otherwise.
            The student is this card's own ``arch`` and ``kwargs``.
    """

    arch: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    input_kind: str = "image"
    value_range: tuple[float, float] = (-1.0, 1.0)
    size_multiple: int = 1
    min_size: int = 1
    domains: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    method: str = "unknown"
    direction: str = "a2b"
    crop_size: int | None = None
    recipe: str = ""
    precision: str = "fp32"
    key_prefix: str = ""
    input_name: str = "image"
    output_name: str = "translated"
    version: str = __version__
    extra: dict[str, str] = field(default_factory=dict)
    teacher: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.input_kind not in INPUT_KINDS:
            raise CardError(f"input_kind: unknown {self.input_kind!r} (known: {', '.join(INPUT_KINDS)})")

    @property
    def in_channels(self) -> int:
        """Image channels the network reads (1 gray, 3 RGB, 4 RGBA)."""
        return int(self.kwargs.get("in_channels", 3))

    @property
    def out_channels(self) -> int:
        """Image channels the network writes."""
        return int(self.kwargs.get("out_channels", 3))

    @property
    def min_side(self) -> int:
        """Smallest image side (after padding to :attr:`size_multiple`) the network can translate."""
        return max(self.min_size, self.size_multiple)

    def check_image_size(self, height: int, width: int, source: str | Path | None = None) -> None:
        """Raise ``ValueError`` (one line, naming ``source`` if given) when an image is too small.

        The image is padded to the size multiple first, so ``3 x 500`` fails for a ResNet (min 8 px)
        while ``5 x 500`` (padded to 8) passes.
        """
        multiple = self.size_multiple
        padded = [-(-side // multiple) * multiple for side in (height, width)]
        if min(padded) < self.min_side:
            raise ValueError(
                ("" if source is None else f"{source}: ")
                + f"{width}x{height} px is smaller than this {self.arch} model takes "
                f"(at least {self.min_side} px per side); upscale it or use a larger --resize"
            )

    @property
    def translates_images(self) -> bool:
        """Whether the generator maps images to images (what export and translate can run)."""
        return self.input_kind in IMAGE_INPUT_KINDS

    def require_image_input(self, source: str | Path, action: str) -> None:
        """Raise :class:`CardError` naming ``source`` when ``action`` needs an image-to-image generator."""
        if not self.translates_images:
            raise CardError(
                f"{source}: {action} needs an image-to-image generator, but this {self.method} "
                f"generator {self.arch!r} draws images from noise and a class label ({self.input_kind})"
            )

    def build(self) -> Any:
        """A freshly initialised generator of this architecture (weights not loaded): an ``nn.Module``."""
        from i2i.nn import create_generator

        return create_generator(self.arch, **self.kwargs)

    def completed_by(self, network: Any) -> ModelCard:
        """This card with what ``network`` declares about itself (``size_multiple``, ``input_kind``):
        the built network is the truth for cards read from files written before those fields."""
        return self.replace(**_network_traits(network))

    def replace(self, **changes: Any) -> ModelCard:
        """A copy with ``changes`` applied (``card.replace(precision="int8")``)."""
        return dataclasses.replace(self, **changes)

    def domain_index(self, domain: str | None) -> int | None:
        """The index of target ``domain`` for a multi-domain model (None for a one-direction model).

        Raises:
            CardError: A domain for a one-direction model, none or an unknown one for a multi-domain model.
        """
        if not self.domains:
            if domain is not None:
                raise CardError(f"--domain {domain}: this {self.method} model has no domains to choose from")
            return None
        if domain is None:
            raise CardError(
                f"this {self.method} model translates into {', '.join(self.domains)}: choose one with --domain"
            )
        if domain not in self.domains:
            raise CardError(f"unknown domain {domain!r}; this model knows {', '.join(self.domains)}")
        return self.domains.index(domain)

    # --- serialisation -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str | Path = "model") -> ModelCard:
        """Read :meth:`to_json` output, or a generator description written by an older i2i."""
        if not isinstance(data, Mapping) or not isinstance(data.get("arch"), str):
            raise CardError(f"{source}: a generator description without an architecture name")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        kwargs = values.get("kwargs") or {}
        if not isinstance(kwargs, Mapping):
            raise CardError(f"{source}: the generator's kwargs are not a mapping")
        extra = {str(k): str(v) for k, v in (values.get("extra") or {}).items()}
        # older headers kept domains / classes as JSON lists in `extra`
        for name in ("domains", "classes"):
            if name not in values and name in extra:
                values[name] = json.loads(extra.pop(name))
        if "input_kind" not in values:
            values["input_kind"] = _legacy_input_kind(values)
        return cls._typed(values | {"kwargs": dict(kwargs), "extra": extra}, source)

    def to_props(self) -> dict[str, str]:
        """Flat ``{"i2i.key": "value"}`` strings (for ONNX ``metadata_props``); the image channels are
        written as keys of their own too, as files written before the card have them."""
        values = self.to_json() | {"in_channels": self.in_channels, "out_channels": self.out_channels}
        return {
            _PREFIX + name: value if isinstance(value, str) else json.dumps(value)
            for name, value in values.items()
        }

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str | Path = "model") -> ModelCard:
        """Parse :meth:`to_props` output; a file without i2i metadata raises :class:`CardError` naming it."""
        values: dict[str, Any] = {}
        text_fields = {f.name for f in dataclasses.fields(cls) if f.type in ("str", str)}
        for name in [f.name for f in dataclasses.fields(cls)] + ["in_channels", "out_channels"]:
            raw = props.get(_PREFIX + name)
            if raw is None:
                continue
            if name in text_fields:
                values[name] = raw
                continue
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError:
                raise CardError(f"{source}: model metadata {_PREFIX}{name} is not valid JSON") from None
        required = ("arch", "in_channels", "out_channels", "value_range", "size_multiple")
        missing = [name for name in required if name not in values]
        if missing:
            raise CardError(
                f"{source}: no i2i metadata for {', '.join(missing)} (was it exported by `i2i export`?)"
            )
        kwargs = values.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise CardError(f"{source}: model metadata {_PREFIX}kwargs is not a mapping")
        for name in ("in_channels", "out_channels"):  # older files: the channels only as keys of their own
            channels = values.pop(name)
            if kwargs.get(name, 3) != channels:
                kwargs[name] = channels
        values["kwargs"] = kwargs
        if "input_kind" not in values:
            values["input_kind"] = _legacy_input_kind(values)
        return cls._typed(values, source)

    @classmethod
    def _typed(cls, values: dict[str, Any], source: str | Path) -> ModelCard:
        """``cls(**values)`` with JSON lists turned into tuples and types checked (one-line errors)."""
        try:
            values["value_range"] = tuple(float(v) for v in values.get("value_range", (-1.0, 1.0)))
            if len(values["value_range"]) != 2:
                raise ValueError("value_range needs two numbers")
            for name in ("domains", "classes"):
                values[name] = tuple(str(v) for v in values.get(name, ()))
            if not isinstance(values.get("teacher", {}), Mapping):
                raise ValueError("teacher must be a mapping")
            kwargs = values.get("kwargs", {})
            for name in ("in_channels", "out_channels"):
                if name in kwargs and int(kwargs[name]) < 1:
                    raise ValueError(f"{name} must be at least 1")
            for name in ("size_multiple", "min_size"):
                if name in values:
                    values[name] = int(values[name])
                    if values[name] < 1:
                        raise ValueError(f"{name} must be at least 1")
            if values.get("crop_size") is not None:
                values["crop_size"] = int(values["crop_size"])
            return cls(**values)
        except CardError as error:
            raise CardError(f"{source}: {error}") from None
        except (TypeError, ValueError) as error:
            raise CardError(f"{source}: unreadable model metadata ({error})") from None


def _legacy_input_kind(values: Mapping[str, Any]) -> str:
    """Input kind of a card written before the field existed: by its method and domains."""
    if values.get("method") == "cgan" or values.get("classes"):
        return "noise+label"
    if values.get("domains"):
        return "image+domain"
    return "image"


def _network_traits(network: Any) -> dict[str, Any]:
    """What a generator declares as attributes: ``size_multiple`` (default 1), ``min_size`` (default:
    the size multiple) and ``input_kind`` (default ``"image"``). The one place that reads them."""
    size_multiple = int(getattr(network, "size_multiple", 1))
    return {
        "input_kind": str(getattr(network, "input_kind", "image")),
        "size_multiple": size_multiple,
        "min_size": int(getattr(network, "min_size", size_multiple)),
    }


def describe_generator(network: Any, *, arch: str, kwargs: Mapping[str, Any], **fields: Any) -> ModelCard:
    """The card of a built generator: what the network declares (``size_multiple``, ``input_kind``),
    its builder ``kwargs`` and the given ``fields`` (``method``, ``direction``, ``key_prefix`` ...)."""
    return ModelCard(**({"arch": arch, "kwargs": dict(kwargs), **_network_traits(network)} | fields))
