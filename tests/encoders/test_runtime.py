"""Shared plumbing: offline mode, optional imports, safe checkpoint reading."""

from __future__ import annotations

import os
import sys

import pytest

from genseek.encoders._runtime import hf_offline, import_optional, load_state_dict
from genseek.errors import ConfigError, MissingDependencyError, WeightsError


def test_hf_offline_sets_and_restores(monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with hf_offline():
        assert os.environ["HF_HUB_OFFLINE"] == "1" and constants.HF_HUB_OFFLINE is True
    assert "HF_HUB_OFFLINE" not in os.environ and constants.HF_HUB_OFFLINE is False


def test_import_optional_names_package_and_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "laion_clap", None)
    with pytest.raises(MissingDependencyError, match=r"encoder 'x' needs the 'laion-clap'.*genseek\[clap\]"):
        import_optional("laion_clap", component="encoder 'x'", package="laion-clap", extra="clap")


def test_import_optional_reports_a_broken_install(tmp_path, monkeypatch):
    (tmp_path / "broken_pkg_for_genseek.py").write_text("raise RuntimeError('operator torchvision::nms does not exist')")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="installed but fails to import.*torchvision must match torch"):
        import_optional("broken_pkg_for_genseek", component="encoder 'x'", package="open-clip-torch", extra="clip")


def test_load_state_dict_unwraps_and_strips_prefix(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    tensors = {"a.weight": torch.ones(2, 2)}
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in tensors.items()}}, tmp_path / "c.pt")
    save_file(tensors, str(tmp_path / "c.safetensors"))
    for name in ("c.pt", "c.safetensors"):
        state = load_state_dict("encoder 'x'", tmp_path / name)
        assert list(state) == ["a.weight"] and torch.equal(state["a.weight"], tensors["a.weight"])


def test_load_state_dict_refuses_garbage(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "truncated.safetensors").write_bytes(b"\x00\x01")
    with pytest.raises(WeightsError, match="cannot read weights file"):
        load_state_dict("encoder 'x'", tmp_path / "truncated.safetensors")
