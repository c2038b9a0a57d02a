"""The ``diffusion`` / ``regression`` samplers: determinism, batching, threads, validation, registry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from genseek.errors import ConfigError, DimensionMismatchError, InvalidRequestError
from genseek.plugin.registry import get_registry
from genseek.samplers.controls import PRESETS
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.regression import RegressionSampler
from genseek.samplers.solvers import SOLVERS
from genseek.samplers.testkit import tiny_prior


@pytest.fixture(scope="module")
def sampler() -> DiffusionSampler:
    return DiffusionSampler(tiny_prior(), device="cpu")


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_same_generator_same_seeds(sampler, rng, solver):
    q = rng.standard_normal(16).astype(np.float32)
    a = sampler.sample(q, 6, generator=np.random.default_rng(7), solver=solver, steps=6, guidance=1.5)
    b = sampler.sample(q, 6, generator=np.random.default_rng(7), solver=solver, steps=6, guidance=1.5)
    c = sampler.sample(q, 6, generator=np.random.default_rng(8), solver=solver, steps=6, guidance=1.5)
    assert a.vectors.shape == (6, 32) and a.vectors.dtype == np.float32
    assert np.array_equal(a.vectors, b.vectors)
    assert not np.allclose(a.vectors, c.vectors)
    assert np.allclose(np.linalg.norm(a.vectors, axis=1), 1.0, atol=1e-5)  # unit-norm catalog space
    assert len({tuple(np.round(v, 4)) for v in a.vectors}) == 6  # diverse seeds


@pytest.mark.parametrize("architecture", ["film_mlp", "cross_attention"])
def test_batched_equals_one_by_one(rng, architecture):
    sampler = DiffusionSampler(tiny_prior(architecture), device="cpu")
    if architecture == "film_mlp":
        queries = [rng.standard_normal(16).astype(np.float32) for _ in range(3)]
    else:  # token sequences of different lengths: padding and masks must not leak
        queries = [rng.standard_normal((t, 16)).astype(np.float32) for t in (3, 7, 1)]
    seeds = [11, 22, 33]
    for solver in ("dpmpp_2m", "euler_maruyama"):
        batch = sampler.sample_many(queries, 4, seeds=seeds, solver=solver, steps=8, guidance=2.0)
        assert batch.vectors.shape == (3, 4, 32)
        for i, q in enumerate(queries):
            alone = sampler.sample_many([q], 4, seeds=[seeds[i]], solver=solver, steps=8, guidance=2.0)
            np.testing.assert_allclose(batch.vectors[i], alone.vectors[0], atol=2e-5)


def test_sample_matches_sample_many(sampler, rng):
    from genseek.samplers.base import torch_seed_from

    q = rng.standard_normal(16).astype(np.float32)
    one = sampler.sample(q, 3, generator=np.random.default_rng(4))
    many = sampler.sample_many([q], 3, seeds=[torch_seed_from(np.random.default_rng(4))])
    assert np.array_equal(one.vectors, many.vectors[0])


def test_concurrent_threads_give_independent_correct_results(sampler, rng):
    queries = [rng.standard_normal(16).astype(np.float32) for _ in range(8)]
    expected = [sampler.sample(q, 4, generator=np.random.default_rng(i)).vectors for i, q in enumerate(queries)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda i: sampler.sample(queries[i], 4, generator=np.random.default_rng(i)).vectors, range(8)))
    for e, g in zip(expected, got):  # concurrent calls are micro-batched: batched kernels round differently
        np.testing.assert_allclose(e, g, atol=1e-5)


def test_presets_and_overrides(sampler, rng):
    q = rng.standard_normal(16).astype(np.float32)
    fast = sampler.sample(q, 2, generator=np.random.default_rng(0))
    assert (fast.info["solver"], fast.info["steps"]) == (PRESETS["fast"].solver, PRESETS["fast"].steps)
    assert sampler.resolve("quality") == ("euler_maruyama", 256)
    assert sampler.resolve("quality", steps=32) == ("euler_maruyama", 32)
    assert sampler.resolve(None, solver="heun") == ("heun", PRESETS["fast"].steps)
    custom = DiffusionSampler(tiny_prior(), device="cpu", preset="quality", steps=12, guidance=0.5)
    assert custom.resolve() == ("euler_maruyama", 12) and custom.guidance_default == 0.5
    assert custom.resolve("fast") == ("dpmpp_2m", PRESETS["fast"].steps)


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({"preset": "turbo"}, "unknown preset"),
        ({"solver": "rk45"}, "unknown solver"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"guidance": float("nan")}, "guidance"),
        ({"guidance": "high"}, "guidance"),
        ({"steer": "acoustic"}, "steer"),
        ({"steer": [(np.ones(5), 1.0)]}, "32-d"),
        ({"slerp": np.ones(32)}, "slerp"),
        ({"negative": "live"}, "search encoder"),
        ({"align": 2.0}, "align"),
    ],
)
def test_invalid_controls_are_clear_errors(sampler, rng, controls, message):
    with pytest.raises(InvalidRequestError, match=message):
        sampler.sample(rng.standard_normal(16).astype(np.float32), 2, generator=np.random.default_rng(0), **controls)


def test_query_validation(sampler):
    with pytest.raises(DimensionMismatchError, match="16-d"):
        sampler.sample(np.ones(20, np.float32), 2, generator=np.random.default_rng(0))
    with pytest.raises(InvalidRequestError, match="pooled"):
        sampler.sample(np.ones((3, 16), np.float32), 2, generator=np.random.default_rng(0))
    with pytest.raises(InvalidRequestError, match="NaN"):
        sampler.sample(np.full(16, np.nan, np.float32), 2, generator=np.random.default_rng(0))
    with pytest.raises(InvalidRequestError, match="positive"):
        sampler.sample(np.ones(16, np.float32), 0, generator=np.random.default_rng(0))
    with pytest.raises(InvalidRequestError, match="does not accept"):
        sampler.check_controls({"temperature": 1.0})


def test_info_describes_the_weights():
    weights = tiny_prior(query_encoder="hashing", target_encoder="clap-audio")
    info = DiffusionSampler(weights, device="cpu").info
    assert (info.query_dim, info.target_dim) == (16, 32)
    assert (info.query_encoder, info.target_encoder) == ("hashing", "clap-audio")
    assert not info.deterministic and "negative" in info.controls
    assert DiffusionSampler.query_controls == frozenset({"negative"}) and DiffusionSampler.can_refine


def test_regression_sampler_is_one_deterministic_seed(rng):
    weights = tiny_prior(kind="regression")
    sampler = RegressionSampler(weights, device="cpu")
    q = rng.standard_normal(16).astype(np.float32)
    a = sampler.sample(q, 8, generator=np.random.default_rng(0))
    b = sampler.sample(q, 8, generator=np.random.default_rng(99))
    assert len(a) == 1 and np.array_equal(a.vectors, b.vectors)
    assert sampler.info.deterministic and sampler.info.max_seeds == 1
    assert sampler.predict(np.stack([q, q])).shape == (2, 32)
    with pytest.raises(ConfigError, match="sampler='regression'"):
        DiffusionSampler(weights, device="cpu")
    with pytest.raises(ConfigError, match="sampler='diffusion'"):
        RegressionSampler(tiny_prior(), device="cpu")
    with pytest.raises(InvalidRequestError, match="cannot refine"):
        sampler.refine(np.ones(32, np.float32), q, 0.5)


def test_runtime_options():
    with pytest.raises(ConfigError, match="only supported on CUDA"):
        DiffusionSampler(tiny_prior(), device="cpu", dtype="float16")
    with pytest.raises(ConfigError, match="dtype"):
        DiffusionSampler(tiny_prior(), device="cpu", dtype="int8")
    with pytest.raises(ConfigError, match="batch_max_size"):
        DiffusionSampler(tiny_prior(), device="cpu", batch_max_size=0)
    with pytest.raises(ConfigError, match="weights="):
        DiffusionSampler(42)  # type: ignore[arg-type]
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            DiffusionSampler(tiny_prior(), device="cuda")
    with pytest.raises(TypeError, match="num_threads"):  # removed: thread settings belong to the application
        DiffusionSampler(tiny_prior(), device="cpu", num_threads=1)


def test_registered_and_built_from_a_weights_directory(tmp_path):
    tiny_prior().save_pretrained(tmp_path / "prior")
    tiny_prior(kind="regression").save_pretrained(tmp_path / "reg")
    registry = get_registry()
    diffusion = registry.sampler("diffusion", weights=str(tmp_path / "prior"), device="cpu")
    regression = registry.sampler("regression", weights=tmp_path / "reg", device="cpu")
    assert isinstance(diffusion, DiffusionSampler) and isinstance(regression, RegressionSampler)
    assert diffusion.sample(np.ones(16, np.float32), 3, generator=np.random.default_rng(0)).vectors.shape == (3, 32)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [None, "bfloat16", "float16"])
def test_cuda_sampling(dtype, rng):
    sampler = DiffusionSampler(tiny_prior(), device="auto", dtype=dtype)
    assert sampler.device.type == "cuda"
    q = rng.standard_normal(16).astype(np.float32)
    a = sampler.sample(q, 8, generator=np.random.default_rng(0), guidance=2.0)
    b = sampler.sample(q, 8, generator=np.random.default_rng(0), guidance=2.0)
    assert a.vectors.dtype == np.float32 and np.array_equal(a.vectors, b.vectors)
    cpu = DiffusionSampler(tiny_prior(), device="cpu").sample(q, 8, generator=np.random.default_rng(0), guidance=2.0)
    assert np.all(np.isfinite(a.vectors)) and cpu.vectors.shape == a.vectors.shape
