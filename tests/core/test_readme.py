"""The README's Python examples run as written (docs that cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    # skip sketches whose bodies are elided with a bare "..." line
    return [b for b in blocks if not any(line.strip() == "..." for line in b.splitlines())]


def test_readme_quickstart_runs():
    blocks = python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["result"].points
    assert all(p.payload["shop"] == "acme" for p in namespace["result"].points)


def test_readme_names_two_setup_commands():
    text = README.read_text()
    assert "genseek demo" in text and "pytest" in text
    assert len(re.findall(r"```bash\npython3 -m venv", text)) == 2
