"""Without qdrant-edge-py, genseek still imports, registers the adapters, and explains the fix."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_edge_is_optional():
    script = textwrap.dedent("""
        import sys
        sys.modules["qdrant_edge"] = None  # as if qdrant-edge-py were not installed
        from genseek.plugin.registry import build_registry
        from genseek.errors import MissingDependencyError
        from genseek.adapters.qdrant_edge import EdgeCatalog
        registry = build_registry()
        assert "edge" in registry.ids("adapter") and "edge-async" in registry.ids("adapter")
        try:
            EdgeCatalog.create("/tmp/never-created", vectors={"v": (4, "cosine")})
        except MissingDependencyError as exc:
            print("OK", exc)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "OK" in out.stdout, out.stderr
    assert "pip install 'genseek[edge]'" in out.stdout
