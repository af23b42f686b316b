"""One small registry class for the names a recipe may contain (networks, methods, GAN modes)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Builder = Callable[..., T]


class Registry(Generic[T]):
    """Maps names to builder functions.

    Args:
        kind: What the registry holds, used in error messages (``"generator"``).

    Example:
        >>> widgets: Registry[int] = Registry("widget")
        >>> @widgets.register
        ... def seven(**kwargs: int) -> int:
        ...     '''The number seven.'''
        ...     return 7
        >>> widgets.build("seven"), widgets.names()
        (7, ['seven'])
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._builders: dict[str, Builder[T]] = {}

    def register(self, builder: Builder[T]) -> Builder[T]:
        """Register ``builder`` under its function name; a duplicate name is an error."""
        name = builder.__name__
        if name in self._builders:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._builders[name] = builder
        return builder

    def get(self, name: str) -> Builder[T]:
        """The builder registered as ``name``; an unknown name raises with close matches."""
        try:
            return self._builders[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._builders, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            known = ", ".join(sorted(self._builders))
            raise KeyError(f"unknown {self.kind} {name!r}{hint} (known: {known})") from None

    def build(self, name: str, **kwargs: Any) -> T:
        """Build the entry registered as ``name`` with keyword arguments."""
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._builders)

    def describe(self) -> dict[str, str]:
        """Name -> first line of the builder's docstring."""
        return {name: (self._builders[name].__doc__ or "").strip().split("\n")[0] for name in self.names()}

    def __contains__(self, name: object) -> bool:
        return name in self._builders
