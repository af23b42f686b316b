"""The preprocessing contract stored in an exported ONNX model's metadata (``metadata_props``).

Every key is prefixed with ``i2i.`` and every value is a string, as ONNX requires. ``i2i translate`` and
``Translator`` read it back, so an exported model file is all a user needs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from i2i import __version__
from i2i.weights import GeneratorSpec

_PREFIX = "i2i."
DOMAIN_INPUT_NAME = "domain"
"""Second graph input of a multi-domain (StarGAN) model: ``(B,)`` int64 target domain indices."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about how to feed it.

    Attributes:
        arch: Generator architecture name.
        method: Method that trained it (``cyclegan``, ``pix2pix``, ``reference`` ...).
        direction: ``a2b`` or ``b2a``.
        in_channels: Channels the network reads (1 gray, 3 RGB, 4 RGBA).
        out_channels: Channels it writes.
        value_range: ``(low, high)``; uint8 pixels ``p`` are fed as ``low + p / 255 * (high - low)``.
        size_multiple: Height and width must be multiples of this (pad, then crop back).
        crop_size: Training crop size, or ``None`` when unknown.
        precision: ``fp32``, ``fp16``, ``int8`` or ``bf16``.
        recipe: Resolved recipe YAML ("" when unknown).
        version: i2i version that wrote the file.
        input_name: Name of the image input of the ONNX graph.
        output_name: Name of the image output.
        domains: Target domain names of a multi-domain generator (StarGAN), in index order; its graph
            has a second input ``"domain"``, ``(B,)`` int64. Empty for one-direction models (and in
            files written before the field existed).
    """

    arch: str
    method: str
    direction: str
    in_channels: int
    out_channels: int
    value_range: tuple[float, float]
    size_multiple: int
    crop_size: int | None
    precision: str = "fp32"
    recipe: str = ""
    version: str = __version__
    input_name: str = "image"
    output_name: str = "translated"
    domains: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: GeneratorSpec, size_multiple: int, precision: str = "fp32") -> ModelInfo:
        """The info of a generator described by ``spec`` (``size_multiple`` comes from the network)."""
        return cls(
            arch=spec.arch,
            method=spec.method,
            direction=spec.direction,
            in_channels=spec.in_channels,
            out_channels=spec.out_channels,
            value_range=(float(spec.value_range[0]), float(spec.value_range[1])),
            size_multiple=int(size_multiple),
            crop_size=spec.crop_size,
            precision=precision,
            recipe=spec.recipe,
            domains=tuple(json.loads(spec.extra.get("domains", "[]"))),
        )

    def to_props(self) -> dict[str, str]:
        """Flat ``{"i2i.key": "value"}`` strings for ONNX ``metadata_props``."""
        return {
            _PREFIX + name: value if isinstance(value, str) else json.dumps(value)
            for name, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str | Path = "model") -> ModelInfo:
        """Parse ``metadata_props``; a file without i2i metadata raises ``ValueError`` naming ``source``."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = props.get(_PREFIX + f.name)
            if raw is None:
                continue
            values[f.name] = raw if f.type in ("str", str) else json.loads(raw)
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.name not in values
        ]
        if missing:
            raise ValueError(
                f"{source}: no i2i metadata for {', '.join(missing)} (was it exported by `i2i export`?)"
            )
        values["value_range"] = tuple(values["value_range"])
        values["domains"] = tuple(values.get("domains", ()))
        return cls(**values)

    def domain_index(self, domain: str | None) -> int | None:
        """The index of target ``domain`` for a multi-domain model (None for a one-direction model).

        Raises:
            ValueError: A domain for a one-direction model, none or an unknown one for a multi-domain model.
        """
        if not self.domains:
            if domain is not None:
                raise ValueError(f"--domain {domain}: this {self.method} model has no domains to choose from")
            return None
        if domain is None:
            raise ValueError(
                f"this {self.method} model translates into {', '.join(self.domains)}: choose one with --domain"
            )
        if domain not in self.domains:
            raise ValueError(f"unknown domain {domain!r}; this model knows {', '.join(self.domains)}")
        return self.domains.index(domain)


def read_onnx_info(path: Path) -> ModelInfo:
    """The :class:`ModelInfo` stored in an ONNX file (reads only the header, not the weights)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return ModelInfo.from_props({p.key: p.value for p in model.metadata_props}, source=path)


def write_onnx_info(model: Any, info: ModelInfo) -> None:
    """Replace the i2i entries of an ``onnx.ModelProto``'s ``metadata_props`` with ``info``."""
    keep = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(_PREFIX)]
    del model.metadata_props[:]
    for key, value in [*keep, *info.to_props().items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
