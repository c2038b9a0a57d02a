"""Built-in model encoders are registered, describe themselves without weights, and import lazily."""

from __future__ import annotations

import subprocess
import sys

import genseek


def test_builtin_model_encoders_are_registered():
    registry = genseek.get_registry()
    assert {"hf-text", "clap", "open-clip"} <= set(registry.ids("encoder"))
    clap = registry.registration("encoder", "clap").metadata()
    assert clap["dim"] == 512 and clap["modalities"] == ["audio", "text"]
    assert registry.registration("encoder", "open-clip").metadata()["modalities"] == ["image", "text"]


def test_building_the_registry_imports_no_model_library():
    code = (
        "import sys, genseek; genseek.get_registry();"
        "print(sorted(m for m in ('transformers', 'open_clip', 'laion_clap', 'soundfile', 'torchvision', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
