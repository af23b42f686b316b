"""The model card stored in an exported ONNX model's metadata (``metadata_props``).

Every key is prefixed with ``i2i.`` and every value is a string, as ONNX requires (see
:meth:`~i2i.card.ModelCard.to_props`). ``i2i translate`` and ``Translator`` read it back, so an
exported model file is all a user needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from i2i.card import CardError, ModelCard

__all__ = ["DOMAIN_INPUT_NAME", "read_onnx_card", "write_onnx_card"]

DOMAIN_INPUT_NAME = "domain"
"""Second graph input of a multi-domain (StarGAN) model: ``(B,)`` int64 target domain indices."""

_PREFIX = "i2i."


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
