"""genseek's layering: no import circles, a contract module at the bottom, one module for plugins.

Imports are read from the source (``ast``), function-level ones included: a lazy import that only
hides a circle from the interpreter still counts.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import genseek
import genseek.api as api
from genseek.plugin.registry import _base_classes

PACKAGE = Path(genseek.__file__).parent
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name ``path`` imports (``from a import b`` gives ``a`` and ``a.b``), relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """genseek module → the genseek modules importing it loads (a submodule loads its packages)."""
    files = {module_name(path, PACKAGE): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for name in imported_names(path, module):
            while name and name not in files:  # ``genseek.x.Name`` is module ``genseek.x``
                name = name.rpartition(".")[0]
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):
                loaded = ".".join(parts[:depth])
                if loaded in files and loaded != module and not module.startswith(loaded + "."):
                    targets.add(loaded)
        graph[module] = targets
    return graph


def test_the_graph_sees_function_level_imports():
    graph = import_graph()
    assert "genseek.adapters.base" in graph["genseek.plugin.registry"]  # imported inside _base_classes()
    assert "genseek.search" in graph["genseek.tenants.bound"]


def test_no_module_imports_itself_back():
    graphlib.TopologicalSorter(import_graph()).prepare()  # raises CycleError naming the circle


def test_the_contract_is_the_bottom_layer():
    """contract imports no other genseek module but its errors: every layer may import it."""
    graph = import_graph()
    assert graph["genseek.contract"] == {"genseek.errors"}
    for layer in ("genseek.adapters.base", "genseek.fusers.base", "genseek.planner", "genseek.tenants.resolve"):
        assert "genseek.contract" in graph[layer], layer


def test_searchers_do_not_import_tenants_and_adapters_do_not_import_fusers():
    graph = import_graph()
    assert not {m for m in graph["genseek.search"] | graph["genseek.planner"] if m.startswith("genseek.tenants")}
    for module, targets in graph.items():
        if module.startswith("genseek.adapters"):
            assert not {t for t in targets if t.startswith("genseek.fusers")}, module
        if module.startswith("genseek.fusers"):
            assert not {t for t in targets if t.startswith("genseek.adapters")}, module


def test_plugin_api_holds_every_base_class_and_the_contract():
    exported = {id(getattr(api, name)) for name in api.__all__}
    for kind, bases in _base_classes().items():
        assert {id(base) for base in bases} <= exported, kind
    from genseek import contract

    assert {id(getattr(contract, name)) for name in contract.__all__} <= exported
    assert api.hookimpl is genseek.hookimpl


def test_example_plugins_import_only_the_plugin_api():
    sources = sorted(EXAMPLES.glob("*/src/**/*.py"))
    assert len(sources) >= 2
    for path in sources:
        used = {name for name in imported_names(path, path.stem) if name.split(".")[0] == "genseek"}
        modules = {name for name in used if name in ("genseek", "genseek.api")}
        assert modules == {"genseek.api"}, (path, used)
        assert {name.rpartition(".")[2] for name in used - modules} <= set(api.__all__), path
