"""The model card stored in an exported ONNX model's metadata (``metadata_props``).

Every key is prefixed with ``i2i.`` and every value is a string, as ONNX requires (see
:meth:`~i2i.card.ModelCard.to_props`). ``i2i translate`` and ``Translator`` read it back, so an
exported model file is all a user needs.
"""

from __future__ import annotations

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
    return ModelCard.from_props({p.key: p.value for p in model.metadata_props}, source=path)


def write_onnx_card(model: Any, card: ModelCard) -> None:
    """Replace the i2i entries of an ``onnx.ModelProto``'s ``metadata_props`` with ``card``."""
    keep = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(_PREFIX)]
    del model.metadata_props[:]
    for key, value in [*keep, *card.to_props().items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
