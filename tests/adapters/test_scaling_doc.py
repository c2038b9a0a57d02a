"""docs/scaling.md cannot rot: every genseek name it imports exists, and its Python blocks parse."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_python_blocks_parse_and_their_genseek_imports_exist():
    blocks = _python_blocks()
    assert blocks
    for block in blocks:
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genseek"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"docs/scaling.md imports missing {node.module}.{alias.name}"


def test_named_catalog_options_exist():
    from genseek.adapters.qdrant_edge import EdgeCatalog, catalog_from_qdrant, catalog_to_qdrant

    text = DOC.read_text()
    for option in ("on_stale", "stale_tolerance"):
        assert option in text and option in EdgeCatalog.create.__code__.co_varnames
    assert "scroll_filter" in catalog_from_qdrant.__code__.co_varnames
    assert "shard_by_tenant" in catalog_to_qdrant.__code__.co_varnames
