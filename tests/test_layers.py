"""The package's layers: imports point one way and no module imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "i2i"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the i2i modules it imports (at any place in the file, lazily imported ones included;
    imports for type checkers only, under ``if TYPE_CHECKING:``, are not imports)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If)
            and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                if base.startswith("i2i"):
                    targets.add(base)
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.startswith("i2i")}
        graph[name] = targets
    return graph


GRAPH = _imports()


def _resolve(target: str) -> str:
    """The module a dotted import names (``from i2i.data import x`` names the package ``i2i.data``)."""
    while target not in GRAPH and "." in target:
        target = target.rpartition(".")[0]
    return target


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the import cycles (components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles_between_modules() -> None:
    """A package ``__init__`` that re-exports its modules is left out: importing it is importing them."""
    edges = {
        module: {_resolve(t) for t in targets} - {module}
        for module, targets in GRAPH.items()
        if not module.endswith("__init__")
    }
    packages = {m for m in GRAPH if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").is_file()}
    # an import of a package is an import of what its __init__ re-exports
    expanded = {
        module: {x for t in targets for x in (GRAPH[t] if t in packages else {t})} - {module}
        for module, targets in edges.items()
    }
    graph = {m: {_resolve(t) for t in ts if _resolve(t) not in packages} for m, ts in expanded.items()}
    graph = {m: ts & set(graph) for m, ts in graph.items() if m not in packages}
    assert _strongly_connected(graph) == []


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("i2i.train", ("i2i.metrics", "i2i.export", "i2i.infer")),
        ("i2i.methods", ("i2i.data", "i2i.config", "i2i.train")),
        ("i2i.nn", ("i2i.config", "i2i.data", "i2i.methods", "i2i.train")),
        ("i2i.losses", ("i2i.config", "i2i.data", "i2i.methods", "i2i.train")),
    ],
)
def test_layers_import_one_way(layer: str, forbidden: tuple[str, ...]) -> None:
    offending = {
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    }
    assert offending == set()
