"""Optional extras: import a package that ``pip install i2i[EXTRA]`` provides, or fail in one line."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(ImportError):
    """An optional package is not installed; the message says which extra installs it."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``pip install i2i[extra]``.

    Example:
        >>> require("math", "none", "arithmetic").sqrt(4.0)
        2.0
        >>> require("no_such_module_xyz", "openvino", "the OpenVINO backend")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        MissingExtraError: the OpenVINO backend needs no_such_module_xyz, which is not installed: pip install i2i[openvino]
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"{purpose} needs {module.partition('.')[0]}, which is not installed: pip install i2i[{extra}]"
        ) from error
