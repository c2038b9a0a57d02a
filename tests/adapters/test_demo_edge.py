"""``genseek demo --backend edge`` runs the demo on Qdrant Edge and gives local mode's results."""

from __future__ import annotations

import re

import pytest

from genseek.cli import main

pytest.importorskip("qdrant_edge")


def _result_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\s+#\d+", line)]


def test_demo_on_edge_matches_local_mode(capsys):
    assert main(["demo", "--backend", "edge", "--items", "300", "--limit", "3"]) == 0
    edge = capsys.readouterr().out
    assert "Qdrant Edge" in edge
    assert main(["demo", "--items", "300", "--limit", "3"]) == 0
    local = capsys.readouterr().out
    assert _result_lines(edge) and _result_lines(edge) == _result_lines(local)
