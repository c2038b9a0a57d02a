"""Guidance, negative prompts, steering, slerp, alignment and refinement — checked on exact denoisers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genseek.encoders.base import Encoder
from genseek.errors import ConfigError, InvalidRequestError
from genseek.samplers.alignment import Aligner, estimate_stats, shrink
from genseek.samplers.controls import slerp
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.guidance import GuidedDenoiser
from genseek.samplers.testkit import mixture_prior, tiny_prior
from genseek.samplers.weights import AlignmentConfig, PriorWeights

MEANS = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], np.float32)


def mixture_sampler(**options) -> DiffusionSampler:
    weights, _ = mixture_prior(MEANS, np.full(3, 0.02, np.float32))
    options.setdefault("preset", "fast")
    return DiffusionSampler(weights, device="cpu", **options)


def nearest_component(seeds: np.ndarray) -> np.ndarray:
    return np.linalg.norm(seeds[:, None, :] - MEANS[None], axis=-1).argmin(1)


def test_guidance_is_the_affine_combination_of_eq3():
    weights = tiny_prior()
    model = weights.model.eval()
    cond = torch.randn(2, 16)
    x = torch.randn(6, 32)
    sigma = torch.tensor([0.3])
    with torch.inference_mode():
        guided = GuidedDenoiser(model, cond, 3, guidance=2.5)(x, sigma)
        rows = cond.repeat_interleave(3, 0)
        d_cond = model(x, sigma, rows)
        d_null = model(x, sigma, torch.zeros_like(rows), null=torch.ones(6, dtype=torch.bool))
    assert torch.allclose(guided, 3.5 * d_cond - 2.5 * d_null, atol=1e-5)


@pytest.mark.parametrize("architecture", ["film_mlp", "cross_attention"])
def test_guidance_minus_one_is_the_unconditional_model(rng, architecture):
    sampler = DiffusionSampler(tiny_prior(architecture), device="cpu")
    shape = (16,) if architecture == "film_mlp" else (5, 16)
    q1, q2 = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    a = sampler.sample(q1, 4, generator=np.random.default_rng(5), guidance=-1.0)
    b = sampler.sample(q2, 4, generator=np.random.default_rng(5), guidance=-1.0)
    # the null condition is the zero vector (Diff4Steer §2): conditioning on 0 with ω = 0 is the same model
    c = sampler.sample(np.zeros(shape, np.float32), 4, generator=np.random.default_rng(5), guidance=0.0)
    d = sampler.sample(q1, 4, generator=np.random.default_rng(5), guidance=0.0)
    assert np.array_equal(a.vectors, b.vectors)
    np.testing.assert_allclose(a.vectors, c.vectors, atol=1e-6)
    assert not np.allclose(a.vectors, d.vectors, atol=1e-4)
    assert a.info["nfe"] == a.info["nfe_expected"]


def test_guidance_sharpens_the_conditional_component():
    sampler = mixture_sampler()
    cond = np.array([0.5, 0.3, 0.2], np.float32)
    plain = sampler.sample(cond, 400, generator=np.random.default_rng(0), guidance=0.0)
    strong = sampler.sample(cond, 400, generator=np.random.default_rng(0), guidance=3.0)
    share = lambda s: np.mean(nearest_component(s.vectors) == 0)  # noqa: E731
    assert share(strong) > share(plain) + 0.2


def test_negative_prompt_moves_seeds_away_from_its_region():
    sampler = mixture_sampler()
    cond = np.array([0.5, 0.5, 0.0], np.float32)  # ambiguous between components 0 and 1
    negative = np.array([0.0, 1.0, 0.0], np.float32)  # "not component 1"
    null = sampler.sample(cond, 400, generator=np.random.default_rng(1), guidance=1.0)
    neg = sampler.sample(cond, 400, generator=np.random.default_rng(1), guidance=1.0, negative=negative)
    in_region = lambda s: np.mean(nearest_component(s.vectors) == 1)  # noqa: E731
    assert in_region(neg) < 0.5 * in_region(null)
    distance = lambda s: np.linalg.norm(s.vectors - MEANS[1], axis=1).mean()  # noqa: E731
    assert distance(neg) > distance(null) + 0.2
    assert neg.info["negative"] and not null.info["negative"]
    with pytest.raises(InvalidRequestError, match="guidance=0"):
        sampler.sample(cond, 2, generator=np.random.default_rng(1), guidance=0.0, negative=negative)


class _TextTable(Encoder):
    """Encodes a few known texts to fixed target-space vectors (a stand-in for CLAP's text tower)."""

    id = "test-steering"
    dim = 4

    def encode_batch(self, items, *, modality):
        table = {"acoustic": [0.0, 0.0, 1.0, 0.0], "live": [1.0, 0.0, 0.0, 0.0]}
        return np.array([table[t] for t in items], np.float32)


@pytest.mark.parametrize("solver", ["dpmpp_2m", "euler_maruyama"])
def test_steering_raises_and_lowers_similarity(solver):
    sampler = mixture_sampler(steering_encoder=_TextTable())
    cond = np.array([0.4, 0.3, 0.3], np.float32)
    text = MEANS[2]
    sims = {}
    for k in (-0.5, 0.0, 0.5):
        steer = {"acoustic": k} if k else None
        seeds = sampler.sample(cond, 300, generator=np.random.default_rng(2), guidance=0.0, solver=solver, steps=24, steer=steer)
        sims[k] = float((seeds.vectors @ text).mean())
    assert sims[0.5] > sims[0.0] + 0.05 > sims[-0.5] + 0.1
    # vectors work without an encoder, and pairs with several texts combine
    plain = mixture_sampler()
    v = plain.sample(cond, 50, generator=np.random.default_rng(2), guidance=0.0, steer=[(text, 0.5), (MEANS[0], -0.5)])
    assert v.info["steered"]
    with pytest.raises(InvalidRequestError, match="steering_encoder"):
        plain.sample(cond, 2, generator=np.random.default_rng(2), steer={"acoustic": 1.0})


def test_slerp_interpolates_on_the_sphere():
    seeds = torch.nn.functional.normalize(torch.randn(5, 8, generator=torch.Generator().manual_seed(0)), dim=-1) * 2.0
    direction = torch.randn(8, generator=torch.Generator().manual_seed(1))
    unit = direction / direction.norm()
    assert torch.allclose(slerp(seeds, direction, 0.0), seeds, atol=1e-6)
    assert torch.allclose(slerp(seeds, direction, 1.0), 2.0 * unit.expand(5, 8), atol=1e-5)
    cos = [float((slerp(seeds, direction, r) / 2.0 @ unit).mean()) for r in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert all(a < b for a, b in zip(cos, cos[1:]))
    half = slerp(seeds, direction, 0.5)
    assert torch.allclose(half.norm(dim=-1), torch.full((5,), 2.0), atol=1e-5)
    sampler = mixture_sampler(steering_encoder=_TextTable())
    out = sampler.sample(np.array([1.0, 0.0, 0.0], np.float32), 8, generator=np.random.default_rng(0), slerp=("acoustic", 0.5))
    base = sampler.sample(np.array([1.0, 0.0, 0.0], np.float32), 8, generator=np.random.default_rng(0))
    assert (out.vectors @ MEANS[2]).mean() > (base.vectors @ MEANS[2]).mean() + 0.3
    with pytest.raises(InvalidRequestError, match="ratio"):
        sampler.sample(np.ones(3, np.float32), 2, generator=np.random.default_rng(0), slerp=("acoustic", 1.5))


def test_alignment_matches_target_statistics():
    gen = torch.Generator().manual_seed(0)
    source = torch.randn(20000, 4, generator=gen) @ torch.tensor([[1.0, 0.3, 0, 0], [0, 0.5, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 0.2]])
    target = torch.randn(20000, 4, generator=gen) * torch.tensor([0.5, 1.0, 0.3, 0.8]) + torch.tensor([1.0, -1.0, 0.0, 2.0])
    s_mean, s_cov = estimate_stats(source)
    t_mean, t_cov = estimate_stats(target)
    aligner = Aligner({"align.source_mean": s_mean, "align.source_cov": s_cov, "align.target_mean": t_mean, "align.target_cov": t_cov})
    mean, cov = estimate_stats(aligner(source, 0.0))
    assert torch.allclose(mean, t_mean, atol=1e-3) and torch.allclose(cov, t_cov, atol=2e-2)
    shrunk = shrink(t_cov, 1.0)
    assert torch.allclose(shrunk, torch.eye(4) * torch.trace(t_cov) / 4)
    assert aligner.transform(0.3) is aligner.transform(0.3)  # cached per shrinkage


def test_align_control_uses_stored_statistics(rng):
    weights = tiny_prior()
    d = weights.config.target_dim
    target_mean = torch.full((d,), 0.5)
    stats = {
        "align.source_mean": torch.zeros(d), "align.source_cov": torch.eye(d),
        "align.target_mean": target_mean, "align.target_cov": torch.eye(d) * 0.01,
    }
    config = weights.config.model_copy(update={"alignment": AlignmentConfig(available=True, shrinkage=0.2)})
    config = config.model_copy(update={"normalization": config.normalization.model_copy(update={"target_l2": False})})
    aligned_weights = PriorWeights(config=config, model=weights.model, stats=stats)
    sampler = DiffusionSampler(aligned_weights, device="cpu")
    q = rng.standard_normal(16).astype(np.float32)
    plain = sampler.sample(q, 16, generator=np.random.default_rng(0))
    aligned = sampler.sample(q, 16, generator=np.random.default_rng(0), align=True)
    assert np.linalg.norm(aligned.vectors.mean(0) - 0.5) < np.linalg.norm(plain.vectors.mean(0) - 0.5)
    with pytest.raises(InvalidRequestError, match="alignment statistics"):
        DiffusionSampler(tiny_prior(), device="cpu").sample(q, 2, generator=np.random.default_rng(0), align=True)
    with pytest.raises(ConfigError, match="alignment statistics"):
        DiffusionSampler(tiny_prior(), device="cpu", align=True)


def test_refine_strength_zero_is_identity_and_same_condition_returns_close():
    sampler = mixture_sampler()
    cond = np.array([1.0, 0.0, 0.0], np.float32)
    vector = (MEANS[0] + 0.1 * np.array([0.3, -0.5, 0.2, 0.4], np.float32)).astype(np.float32)
    assert np.array_equal(sampler.refine(vector, cond, 0.0), vector)
    for strength in (0.3, 0.7):
        back = sampler.refine(vector, cond, strength, source_condition=cond, guidance=0.0)
        assert np.linalg.norm(back - vector) < 0.02, strength  # default 20-step grid
        finer = sampler.refine(vector, cond, strength, source_condition=cond, guidance=0.0, steps=80)
        assert np.linalg.norm(finer - vector) < 0.2 * np.linalg.norm(back - vector) + 1e-5  # O(h²) convergence
    batch = np.stack([vector, MEANS[0]])
    assert sampler.refine(batch, cond, 0.5, source_condition=cond, guidance=0.0).shape == (2, 4)


def test_refine_moves_toward_the_new_condition_and_stays_near_the_input():
    sampler = mixture_sampler()
    vector = (MEANS[0] + 0.1 * np.array([0.3, -0.5, 0.2, 0.4], np.float32)).astype(np.float32)
    new = np.array([0.0, 0.0, 1.0], np.float32)
    distances = []
    for strength in (0.2, 0.5, 0.8, 1.0):
        edited = sampler.refine(vector, new, strength, guidance=0.0)
        distances.append((np.linalg.norm(edited - vector), np.linalg.norm(edited - MEANS[2])))
    to_input = [d[0] for d in distances]
    to_new = [d[1] for d in distances]
    assert to_input == sorted(to_input) and to_new == sorted(to_new, reverse=True)
    assert to_new[-1] < 0.5  # full strength lands in the new condition's region
    with pytest.raises(InvalidRequestError, match="strength"):
        sampler.refine(vector, new, 1.5)
    with pytest.raises(InvalidRequestError, match="does not accept"):
        sampler.refine(vector, new, 0.5, solver="heun")


def test_steering_through_the_network_leaves_its_parameters_alone(rng):
    weights = tiny_prior()
    sampler = DiffusionSampler(weights, device="cpu")
    q = rng.standard_normal(16).astype(np.float32)
    direction = rng.standard_normal(32).astype(np.float32)
    base = sampler.sample(q, 4, generator=np.random.default_rng(0), guidance=1.0)
    up = sampler.sample(q, 4, generator=np.random.default_rng(0), guidance=1.0, steer=[(direction, 0.2)])
    down = sampler.sample(q, 4, generator=np.random.default_rng(0), guidance=1.0, steer=[(direction, -0.2)])
    assert (up.vectors @ direction).mean() > (base.vectors @ direction).mean() > (down.vectors @ direction).mean()
    assert all(p.grad is None and p.requires_grad for p in weights.model.parameters())
