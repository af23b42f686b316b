"""Lazy package attributes: every public name resolves from its home, and nothing else does."""

from __future__ import annotations

import importlib

import pytest

from i2i.lazy import lazy_attributes

LAZY_PACKAGES = ("i2i", "i2i.data", "i2i.infer", "i2i.export")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_of_a_lazy_package_resolves(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:  # a name mapped to the wrong module raises AttributeError here
        assert getattr(module, name) is not None, name


def test_unknown_names_raise_attribute_error_naming_the_package() -> None:
    import i2i.infer

    with pytest.raises(AttributeError, match=r"module 'i2i\.infer' has no attribute 'Translater'"):
        i2i.infer.Translater  # noqa: B018
    assert not hasattr(i2i.infer, "Translater")


def test_names_come_from_their_module_on_first_use() -> None:
    resolve = lazy_attributes("pkg", {"json": ("dumps",), "os.path": ("join",)})
    assert resolve("dumps")([1]) == "[1]"
    assert resolve("join")("a", "b") == "a/b"
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'loads'"):
        resolve("loads")  # json has it, but it is not public here
