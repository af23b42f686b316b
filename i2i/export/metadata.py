"""The model card stored in an exported model: ONNX ``metadata_props`` or OpenVINO IR ``rt_info``.

Every key is prefixed with ``i2i.`` and every value is a string, as ONNX requires (see
:meth:`~i2i.card.ModelCard.to_props`). In an OpenVINO IR (``.xml`` + ``.bin``) the same entries are
one JSON string under ``rt_info["i2i"]["card"]``. ``i2i translate`` and ``Translator`` read them back, so
an exported model file is all a user needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from i2i.card import CardError, ModelCard

__all__ = [
    "DOMAIN_INPUT_NAME",
    "OPENVINO_CARD_KEY",
    "read_onnx_card",
    "read_openvino_card",
    "write_onnx_card",
    "write_openvino_card",
]

DOMAIN_INPUT_NAME = "domain"
"""Second graph input of a multi-domain (StarGAN) model: ``(B,)`` int64 target domain indices."""

_PREFIX = "i2i."
OPENVINO_CARD_KEY = ("i2i", "card")
"""Where an OpenVINO model's ``rt_info`` holds the card (a JSON object of :meth:`ModelCard.to_props`)."""


def read_onnx_card(path: Path) -> ModelCard:
    """The :class:`~i2i.card.ModelCard` stored in an ONNX file (reads only the header, not the weights).

    Raises:
        CardError: the file is not a readable ONNX model or holds no i2i metadata; the message names it.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # onnx raises DecodeError, OSError ... for damaged files
        raise CardError(f"{path}: not a readable ONNX model ({type(error).__name__})") from None
    _check_external_data(model, Path(path))
    return ModelCard.from_props({p.key: p.value for p in model.metadata_props}, source=path)


def _check_external_data(model: Any, path: Path) -> None:
    """Refuse tensors whose external data lies outside the model's folder (absolute, ``..``, links).

    ``i2i export`` never writes external data; a file that points at ``../../etc/...`` is hostile, and
    older ONNX Runtime versions would read whatever it names.
    """
    from onnx import TensorProto

    folder = path.resolve().parent
    for tensor in _tensors(model.graph):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (folder / location).resolve()
        if not location or not target.is_relative_to(folder) or target == folder:
            raise CardError(
                f"{path}: tensor {tensor.name!r} keeps its data outside the model's folder "
                f"({location!r}); refusing to read it"
            )


def _tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto of a graph: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    yield from (sparse.values for sparse in graph.sparse_initializer)
    for node in graph.node:
        for attribute in node.attribute:
            yield from ([attribute.t] if attribute.HasField("t") else [])
            yield from attribute.tensors
            for subgraph in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                yield from _tensors(subgraph)


def write_onnx_card(model: Any, card: ModelCard) -> None:
    """Replace the i2i entries of an ``onnx.ModelProto``'s ``metadata_props`` with ``card``."""
    keep = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(_PREFIX)]
    del model.metadata_props[:]
    for key, value in [*keep, *card.to_props().items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def read_openvino_card(model: Any, source: Path) -> ModelCard:
    """The :class:`~i2i.card.ModelCard` in an ``openvino.Model``'s ``rt_info`` (``source``: its file).

    Raises:
        CardError: the model holds no i2i card (not written by ``i2i export --format openvino``).
    """
    key = list(OPENVINO_CARD_KEY)
    if not model.has_rt_info(key):
        raise CardError(f"{source}: holds no i2i model card (export it with i2i export --format openvino)")
    try:
        props = json.loads(str(model.get_rt_info(key).astype(str)))
    except ValueError as error:
        raise CardError(f"{source}: unreadable i2i model card ({error})") from None
    return ModelCard.from_props(props, source=source)


def write_openvino_card(model: Any, card: ModelCard) -> None:
    """Store ``card`` in an ``openvino.Model``'s ``rt_info`` (saved with the IR)."""
    model.set_rt_info(json.dumps(card.to_props(), sort_keys=True), list(OPENVINO_CARD_KEY))
