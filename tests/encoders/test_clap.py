"""clap: a CLAP model (real HTSAT-tiny audio tower, 1-layer RoBERTa) built here and loaded offline.

The RoBERTa is placed in a temporary Hugging Face cache as ``roberta-base``; one test loads the
encoder in a fresh interpreter through that cache (``HF_HUB_CACHE`` + ``HF_HUB_OFFLINE=1``), the
others through ``text_model=`` pointing at the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genseek.encoders.clap import ClapEncoder
from genseek.errors import ConfigError, InvalidRequestError, MissingDependencyError, WeightsError

pytest.importorskip("laion_clap", reason="needs genseek[clap]")  # imported with HF_HUB_OFFLINE=1 (conftest)
soundfile = pytest.importorskip("soundfile")
TEXTS = ["calm piano", "loud drums and distorted guitar", "birdsong in the morning"]


@pytest.fixture(scope="session")
def clap_assets(tmp_path_factory, builders):
    """A random-weight CLAP checkpoint; its RoBERTa is ``roberta-base`` in a temporary HF cache."""
    import huggingface_hub.constants as hub
    import laion_clap
    import torch

    from genseek.encoders._runtime import hf_offline

    root = tmp_path_factory.mktemp("clap")
    roberta = builders.place_in_hf_cache(root / "hf-cache", "roberta-base", builders.save_tiny_roberta(root / "roberta"))
    saved_cache, hub.HF_HUB_CACHE = hub.HF_HUB_CACHE, str(root / "hf-cache")  # what HF_HUB_CACHE= sets at import
    torch.manual_seed(0)
    with hf_offline():
        module = laion_clap.CLAP_Module(enable_fusion=False, device="cpu", amodel="HTSAT-tiny", tmodel="roberta")
    module.eval()
    checkpoint = root / "tiny-clap.pt"
    torch.save({"epoch": 1, "state_dict": {f"module.{k}": v for k, v in module.model.state_dict().items()}}, checkpoint)
    short = builders.sine_sweep(3.0, 22_050, 300.0, 3000.0)
    soundfile.write(root / "short.wav", short, 22_050, subtype="FLOAT")
    soundfile.write(root / "long.flac", builders.sine_sweep(11.5, 44_100), 44_100)
    yield {"root": root, "roberta": roberta, "module": module, "checkpoint": checkpoint, "short": short,
           "hf_cache": root / "hf-cache"}
    hub.HF_HUB_CACHE = saved_cache


@pytest.fixture(scope="session")
def clap(clap_assets):
    return ClapEncoder(clap_assets["checkpoint"], device="cpu", batch_size=4)


def test_metadata_without_loading(clap_assets, monkeypatch):
    monkeypatch.setitem(sys.modules, "laion_clap", None)
    encoder = ClapEncoder(clap_assets["checkpoint"])
    info = encoder.info
    assert (info.dim, info.normalized, info.modalities) == (512, True, frozenset({"text", "audio"}))
    assert info.extra["window_seconds"] == 10.0 and not encoder.loaded


def test_text_matches_laion_clap_on_the_same_weights(clap, clap_assets):
    ours = clap.encode(TEXTS)
    theirs = clap_assets["module"].get_text_embedding(TEXTS)
    assert ours.shape == (3, 512)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(clap.encode(TEXTS[0]), ours[0], atol=1e-6)


def test_text_model_directory_instead_of_the_cache(clap, clap_assets):
    local = ClapEncoder(clap_assets["checkpoint"], text_model=clap_assets["roberta"], device="cpu")
    np.testing.assert_allclose(local.encode(TEXTS), clap.encode(TEXTS), atol=1e-6)


def test_audio_round_trip_on_a_sine_sweep(clap, clap_assets):
    """A 3 s sweep at 22.05 kHz, from a WAV file and from memory, against laion-clap's own embedding."""
    path = clap_assets["root"] / "short.wav"
    from_file, from_memory = clap.encode([path, {"array": clap_assets["short"], "sampling_rate": 22_050}])
    assert from_file.shape == (512,)
    np.testing.assert_allclose(np.linalg.norm(from_file), 1.0, atol=1e-5)
    assert float(from_file @ from_memory) > 0.9999
    from genseek.encoders.audio import read_audio

    samples = read_audio(path, component="t", default_rate=48_000, target_rate=48_000)
    samples = (np.clip(samples, -1, 1) * 32767).astype(np.int16).astype(np.float32) / 32767
    theirs = clap_assets["module"].get_audio_embedding_from_data(samples[None, :])  # repeat-padded to 10 s
    np.testing.assert_allclose(from_file, theirs[0], atol=1e-4)


def test_long_audio_is_windowed_and_pooled(clap, clap_assets):
    """11.5 s → a 10 s window and a 1.5 s tail; the vector is their normalised mean, whatever the batch."""
    path = clap_assets["root"] / "long.flac"
    one_by_one = ClapEncoder(clap_assets["checkpoint"], device="cpu", batch_size=1)
    one_by_one._loaded = clap._load()  # the same loaded weights; only the batching differs
    windows = one_by_one.encode_windows(path)[0]
    assert windows.shape == (2, 512)
    pooled = clap.encode(path)
    expected = windows.mean(axis=0)
    np.testing.assert_allclose(pooled, expected / np.linalg.norm(expected), atol=1e-5)


@pytest.mark.slow
def test_loads_roberta_through_hf_hub_cache_in_a_fresh_interpreter(clap_assets, clap):
    env = {**os.environ, "HF_HUB_CACHE": str(clap_assets["hf_cache"]), "HF_HUB_OFFLINE": "1"}
    code = (
        "import json, sys; from genseek.encoders.clap import ClapEncoder;"
        f"e = ClapEncoder({str(clap_assets['checkpoint'])!r}, device='cpu');"
        f"print(json.dumps(e.encode({TEXTS[:1]!r}).tolist()))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    vector = np.asarray(json.loads(result.stdout.strip().splitlines()[-1]), dtype=np.float32)
    np.testing.assert_allclose(vector, clap.encode(TEXTS[:1]), atol=1e-5)


# -- errors --------------------------------------------------------------------------------------
def test_missing_checkpoint(tmp_path):
    with pytest.raises(WeightsError, match="clap.*checkpoint .* does not exist.*never downloads"):
        ClapEncoder(tmp_path / "630k-best.pt")


def test_roberta_not_in_the_cache(clap_assets, tmp_path, monkeypatch):
    import huggingface_hub.constants as hub

    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(WeightsError, match="roberta-base.*text_model="):
        ClapEncoder(clap_assets["checkpoint"], device="cpu").encode("piano")


def test_checkpoint_that_does_not_fit_the_architecture(clap_assets, tmp_path):
    import torch

    state = {k.removeprefix("module."): v for k, v in
             torch.load(clap_assets["checkpoint"], weights_only=True)["state_dict"].items()}
    state["audio_projection.0.weight"] = torch.zeros(7, 7)
    torch.save(state, tmp_path / "wrong.pt")
    encoder = ClapEncoder(tmp_path / "wrong.pt", device="cpu")
    with pytest.raises(WeightsError, match="do not fit the HTSAT-tiny / roberta non-fusion architecture") as caught:
        encoder.encode("piano")
    assert "looks like amodel='HTSAT-tiny', enable_fusion=False" in str(caught.value)


class RunsCode:
    """Unpickling this calls a function: exactly what weights_only=True refuses."""

    def __reduce__(self):
        return (print, ("this ran while loading a checkpoint",))


def test_checkpoint_with_pickled_code_is_refused(clap_assets, tmp_path):
    import torch

    torch.save({"state_dict": {"w": torch.zeros(1)}, "hook": RunsCode()}, tmp_path / "evil.pt")
    with pytest.raises(WeightsError, match="weights_only"):
        ClapEncoder(tmp_path / "evil.pt", text_model=clap_assets["roberta"], device="cpu").encode("piano")


def test_missing_laion_clap(clap_assets, monkeypatch):
    monkeypatch.setitem(sys.modules, "laion_clap", None)
    with pytest.raises(MissingDependencyError, match=r"laion-clap.*genseek\[clap\]"):
        ClapEncoder(clap_assets["checkpoint"], text_model=clap_assets["roberta"], device="cpu").encode("piano")


def test_fusion_needs_torchaudio(clap_assets):
    import importlib.util

    if importlib.util.find_spec("torchaudio") is not None:
        pytest.skip("torchaudio is installed")
    with pytest.raises(MissingDependencyError, match="enable_fusion=True.*torchaudio"):
        ClapEncoder(clap_assets["checkpoint"], text_model=clap_assets["roberta"], enable_fusion=True,
                    device="cpu").encode("piano")


def test_bad_inputs(clap, clap_assets, tmp_path):
    with pytest.raises(InvalidRequestError, match="clap.*does not accept image"):
        clap.encode("x", modality="image")
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(InvalidRequestError, match="clap.*cannot read audio file"):
        clap.encode(tmp_path / "broken.wav")
    with pytest.raises(InvalidRequestError, match="does not exist"):
        clap.encode(tmp_path / "absent.wav")


@pytest.mark.parametrize(("options", "pattern"), [({"amodel": "HTSAT-huge"}, "amodel"), ({"tmodel": "bert"}, "tmodel"),
                                                   ({"window_seconds": 0}, "window_seconds"),
                                                   ({"batch_size": -1}, "batch_size")])
def test_bad_options(clap_assets, options, pattern):
    with pytest.raises(ConfigError, match=pattern):
        ClapEncoder(clap_assets["checkpoint"], **options)


def test_checkpoint_description_names_tower_and_fusion():
    import torch

    from genseek.encoders.clap import describe_checkpoint

    base_fusion = {"audio_branch.patch_embed.proj.weight": torch.zeros(128, 1, 4, 4),
                   "audio_branch.patch_embed.mel_conv2d.weight": torch.zeros(1)}
    assert describe_checkpoint(base_fusion) == "This checkpoint looks like amodel='HTSAT-base', enable_fusion=True."
    assert describe_checkpoint({"x": torch.zeros(1)}) == ""
