"""save_pretrained / from_pretrained: bit-exact round trip and every integrity or mismatch error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from genseek.errors import WeightsError
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.testkit import tiny_prior
from genseek.samplers.weights import (
    CONFIG_FILE,
    SCHEMA_VERSION,
    WEIGHTS_FILE,
    AlignmentConfig,
    NormalizationConfig,
    PriorWeights,
    from_pretrained,
    read_config,
)


def _with_stats(weights: PriorWeights) -> PriorWeights:
    d, dq = weights.config.target_dim, weights.config.query_dim
    gen = torch.Generator().manual_seed(0)
    stats = {
        "query_mean": torch.randn(dq, generator=gen),
        "align.source_mean": torch.randn(d, generator=gen),
        "align.source_cov": torch.eye(d) * 0.5,
        "align.target_mean": torch.randn(d, generator=gen),
        "align.target_cov": torch.eye(d) * 0.2,
    }
    config = weights.config.model_copy(
        update={
            "normalization": NormalizationConfig(query_center=True, query_l2=True),
            "alignment": AlignmentConfig(available=True, shrinkage=0.3, source_count=100, target_count=1000),
            "query_encoder": "hashing",
            "target_encoder": "clap-audio",
        }
    )
    return PriorWeights(config=config, model=weights.model, stats=stats)


@pytest.fixture
def saved(tmp_path):
    weights = _with_stats(tiny_prior())
    directory = weights.save_pretrained(tmp_path / "prior", training={"steps": 10, "loss": 0.5, "guidance": 2.0})
    return weights, directory


@pytest.mark.parametrize("architecture", ["film_mlp", "cross_attention"])
def test_round_trip_is_bit_exact(tmp_path, architecture):
    weights = _with_stats(tiny_prior(architecture))
    directory = weights.save_pretrained(tmp_path / "p", training={"steps": 3})
    loaded = from_pretrained(directory)
    original_state, loaded_state = weights.model.state_dict(), loaded.model.state_dict()
    assert original_state.keys() == loaded_state.keys()
    assert all(torch.equal(original_state[k], loaded_state[k]) for k in original_state)
    assert all(torch.equal(weights.stats[k], loaded.stats[k]) for k in weights.stats)
    assert loaded.config.model_dump(exclude={"files", "training"}) == weights.config.model_dump(exclude={"files", "training"})
    assert loaded.config.training == {"steps": 3}
    assert loaded.model.sigma_data == weights.model.sigma_data and not loaded.model.training
    # sampling from the loaded prior gives the same seeds
    q = np.random.default_rng(0).standard_normal((4, 16) if architecture == "cross_attention" else 16).astype(np.float32)
    a = DiffusionSampler(weights, device="cpu").sample(q, 4, generator=np.random.default_rng(1), guidance=1.0)
    b = DiffusionSampler(loaded, device="cpu").sample(q, 4, generator=np.random.default_rng(1), guidance=1.0)
    assert np.array_equal(a.vectors, b.vectors)
    # saving again is deterministic byte for byte
    again = loaded.save_pretrained(tmp_path / "q", training={"steps": 3})
    assert (again / WEIGHTS_FILE).read_bytes() == (directory / WEIGHTS_FILE).read_bytes()


def test_config_is_self_describing(saved):
    _, directory = saved
    raw = json.loads((directory / CONFIG_FILE).read_text())
    assert raw["format"] == "genseek.prior" and raw["schema_version"] == SCHEMA_VERSION
    assert raw["denoiser"]["architecture"] == "film_mlp" and raw["denoiser"]["target_dim"] == 32
    assert raw["sigma_data"] > 0 and raw["schedule"]["sigma_max"] == 100.0
    assert raw["query_encoder"] == "hashing" and raw["target_encoder"] == "clap-audio"
    assert raw["files"][WEIGHTS_FILE]["bytes"] == (directory / WEIGHTS_FILE).stat().st_size
    assert read_config(directory).training["guidance"] == 2.0
    assert DiffusionSampler(directory, device="cpu").guidance_default == 2.0  # trained guidance is the default


def _rewrite_config(directory, **changes):
    raw = json.loads((directory / CONFIG_FILE).read_text())
    for key, value in changes.items():
        target = raw
        *parents, leaf = key.split(".")
        for p in parents:
            target = target[p]
        target[leaf] = value
    (directory / CONFIG_FILE).write_text(json.dumps(raw))


def test_missing_directory_and_files(tmp_path, saved):
    _, directory = saved
    with pytest.raises(WeightsError, match="does not exist"):
        from_pretrained(tmp_path / "nowhere")
    (directory / WEIGHTS_FILE).unlink()
    with pytest.raises(WeightsError, match="is missing; the weights directory is incomplete"):
        from_pretrained(directory)
    (directory / CONFIG_FILE).unlink()
    with pytest.raises(WeightsError, match="not a genseek prior weights directory"):
        from_pretrained(directory)


def test_truncated_weights(saved):
    _, directory = saved
    path = directory / WEIGHTS_FILE
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(WeightsError, match="truncated"):
        from_pretrained(directory)


def test_tampered_weights(saved):
    _, directory = saved
    path = directory / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        from_pretrained(directory)


def test_corrupt_safetensors_header(saved):
    _, directory = saved
    path = directory / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[8:16] = b"\xff" * 8  # garbage JSON header
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        from_pretrained(directory, verify_hash=False)


def test_config_errors(saved):
    _, directory = saved
    good = (directory / CONFIG_FILE).read_text()
    (directory / CONFIG_FILE).write_text(good[: len(good) // 2])
    with pytest.raises(WeightsError, match="not valid JSON"):
        from_pretrained(directory)
    (directory / CONFIG_FILE).write_text(good)
    _rewrite_config(directory, schema_version=99)
    with pytest.raises(WeightsError, match="schema version 99"):
        from_pretrained(directory)
    (directory / CONFIG_FILE).write_text(good)
    _rewrite_config(directory, format="something-else")
    with pytest.raises(WeightsError, match="not a genseek prior config"):
        from_pretrained(directory)
    (directory / CONFIG_FILE).write_text(good)
    _rewrite_config(directory, surprise=1)
    with pytest.raises(WeightsError, match="surprise"):
        from_pretrained(directory)
    (directory / CONFIG_FILE).write_text(good)
    _rewrite_config(directory, sigma_data=-1.0)
    with pytest.raises(WeightsError, match="sigma_data"):
        from_pretrained(directory)


def test_config_that_does_not_match_the_tensors(saved):
    _, directory = saved
    _rewrite_config(directory, **{"denoiser.width": 64})
    with pytest.raises(WeightsError, match="does not match the architecture"):
        from_pretrained(directory)


def _resave_tensors(directory, mutate):
    path = directory / WEIGHTS_FILE
    tensors = load_file(str(path))
    mutate(tensors)
    save_file(tensors, str(path))
    raw = json.loads((directory / CONFIG_FILE).read_text())
    raw["files"][WEIGHTS_FILE] = {"bytes": path.stat().st_size, "sha256": _sha(path)}
    (directory / CONFIG_FILE).write_text(json.dumps(raw))


def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_non_finite_missing_and_stray_tensors(saved):
    _, directory = saved
    first = next(k for k in load_file(str(directory / WEIGHTS_FILE)) if k.startswith("model.") and k.endswith("weight"))
    _resave_tensors(directory, lambda t: t[first].view(-1).__setitem__(0, float("nan")))
    with pytest.raises(WeightsError, match="NaN"):
        from_pretrained(directory)
    _resave_tensors(directory, lambda t: t.pop(first))
    with pytest.raises(WeightsError, match="missing"):
        from_pretrained(directory)
    _resave_tensors(directory, lambda t: t.__setitem__("optimizer.state", torch.zeros(2)))
    with pytest.raises(WeightsError, match="unexpected tensors"):
        from_pretrained(directory)


def test_announced_statistics_must_be_present(saved, tmp_path):
    _, directory = saved
    _resave_tensors(directory, lambda t: t.pop("stats.align.target_cov"))
    with pytest.raises(WeightsError, match="align.target_cov"):
        from_pretrained(directory)
    weights = _with_stats(tiny_prior())
    weights.stats.pop("query_mean")
    with pytest.raises(WeightsError, match="query_mean"):
        weights.save_pretrained(tmp_path / "incomplete")
    assert not (tmp_path / "incomplete" / CONFIG_FILE).exists()


def test_mismatch_with_the_collection_says_what_differs(saved):
    _, directory = saved
    with pytest.raises(WeightsError, match="generates 32-d vectors but the collection's vector has 64 dimensions"):
        from_pretrained(directory, target_dim=64)
    with pytest.raises(WeightsError, match="target encoder 'clap-audio' but the collection uses 'openclip'"):
        from_pretrained(directory, target_dim=32, target_encoder="openclip")
    with pytest.raises(WeightsError, match="queries from 'hashing'"):
        from_pretrained(directory, query_encoder="e5")
    with pytest.raises(WeightsError, match="16-d queries"):
        from_pretrained(directory, query_dim=384)
    loaded = from_pretrained(directory, target_dim=32, target_encoder="clap-audio", query_dim=16, query_encoder="hashing")
    assert loaded.config.target_dim == 32


def test_sampler_checks_expectations_when_loading(saved):
    _, directory = saved
    with pytest.raises(WeightsError, match="target encoder 'clap-audio' but the collection uses 'openclip'"):
        DiffusionSampler(directory, device="cpu", expect={"target_encoder": "openclip"})
    with pytest.raises(WeightsError, match="64 dimensions"):
        DiffusionSampler(from_pretrained(directory), device="cpu", expect={"target_dim": 64})
    sampler = DiffusionSampler(directory, device="cpu", expect={"target_dim": 32, "target_encoder": "clap-audio"})
    assert sampler.info.target_encoder == "clap-audio"
    from genseek.errors import ConfigError

    with pytest.raises(ConfigError, match="expect accepts"):
        DiffusionSampler(directory, device="cpu", expect={"collection": "x"})
