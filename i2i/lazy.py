"""Lazy package attributes: a package's public names imported from their modules on first use.

The packages of i2i re-export their public names, but importing them all eagerly would make every
command pay for torch and albumentations (about 3 s), also ``i2i translate`` with an exported model,
which needs neither. A package instead sets ``__getattr__ = lazy_attributes(__name__, PUBLIC)`` (and
imports the same names under ``TYPE_CHECKING`` for type checkers).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, public: Mapping[str, Sequence[str]]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` (PEP 562) for ``package``.

    Args:
        package: The package's ``__name__``, for the error message.
        public: Module -> the public names it defines.

    Example:
        >>> getattr_ = lazy_attributes("pkg", {"json": ["dumps"]})
        >>> getattr_("dumps")([1])
        '[1]'
        >>> getattr_("loads")
        Traceback (most recent call last):
        AttributeError: module 'pkg' has no attribute 'loads'
    """
    home = {name: module for module, names in public.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home[name]), name)

    return __getattr__
