"""Prior options: the direct conditioning path (``cond_residual``) and log-normal training noise levels."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from genseek.errors import ConfigError
from genseek.samplers.denoisers import DenoiserConfig, FiLMDenoiser, build_denoiser
from genseek.samplers.diffusion import DiffusionSampler
from genseek.samplers.guidance import GuidedDenoiser
from genseek.samplers.weights import CONFIG_FILE, PriorConfig, PriorWeights, from_pretrained, read_config
from genseek.training import TrainConfig, train
from genseek.training import trainer as trainer_module
from genseek.training.musiccaps_prior import shipped_prior_path
from genseek.training.synthetic import make_ambiguous_world

TARGET_DIM, QUERY_DIM = 12, 6


def residual_prior(cond_residual: bool = True, *, seed: int = 0) -> PriorWeights:
    """A small untrained film_mlp prior with a random output head (so F ≠ 0)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        denoiser = DenoiserConfig(target_dim=TARGET_DIM, query_dim=QUERY_DIM, width=24, depth=2, noise_embed_dim=16,
                                  cond_residual=cond_residual)
        weights = PriorWeights.create(PriorConfig(denoiser=denoiser, sigma_data=0.2))
        torch.nn.init.normal_(weights.model.net.out_proj.weight, std=0.3)
        torch.nn.init.normal_(weights.model.net.out_proj.bias, std=0.05)
    weights.model.eval()
    return weights


def zero_film(net: FiLMDenoiser) -> None:
    with torch.no_grad():
        for block in net.blocks:
            block.film.weight.zero_()
            block.film.bias.zero_()


# -- defaults and validation -----------------------------------------------------------------------


def test_training_defaults_are_the_measured_recipe_and_old_weights_keep_theirs():
    # weights written without the option load as they were trained (FiLM only) ...
    assert DenoiserConfig(target_dim=4, query_dim=4).cond_residual is False
    # ... new training runs get the recipe that trained better priors (log-normal σ, direct path)
    config = TrainConfig()
    assert config.cond_residual is True and config.sigma_distribution == "log_normal"
    assert config.sigma_p_mean == 0.0 and config.sigma_p_std == 1.5
    paper = TrainConfig(cond_residual=False, sigma_distribution="log_uniform")
    assert paper.cond_residual is False and paper.fingerprint() != config.fingerprint()
    # cross-attention has no residual path for the query: unset means off, asking for it is refused
    assert TrainConfig(architecture="cross_attention").cond_residual is False
    with pytest.raises(ValidationError, match="film_mlp architecture only"):
        TrainConfig(architecture="cross_attention", cond_residual=True)
    with pytest.raises(ValidationError):
        TrainConfig(sigma_distribution="gaussian")
    with pytest.raises(ValidationError):
        TrainConfig(sigma_p_std=0.0)
    # the options are part of the resume fingerprint (they change the maths)
    fingerprint = TrainConfig(cond_residual=True, sigma_distribution="log_normal", sigma_p_mean=-0.5).fingerprint()
    assert fingerprint["cond_residual"] is True and fingerprint["sigma_distribution"] == "log_normal"
    assert fingerprint["sigma_p_mean"] == -0.5


@pytest.mark.parametrize("shape", [
    dict(noise_embed_dim=15),
    dict(architecture="cross_attention", width=30, heads=4),
    dict(width=0),
    dict(depth=10_000),
    dict(dropout=1.0),
])
def test_training_and_weights_share_one_backbone_declaration(shape):
    from genseek.samplers.backbone_config import BackboneShape

    assert issubclass(TrainConfig, BackboneShape) and issubclass(DenoiserConfig, BackboneShape)
    for name in BackboneShape.model_fields:  # declared once: the same field on both sides
        assert repr(TrainConfig.model_fields[name]) == repr(DenoiserConfig.model_fields[name]) == repr(BackboneShape.model_fields[name])
    built = TrainConfig().denoiser(query_dim=5, target_dim=7)
    assert {name: getattr(built, name) for name in BackboneShape.model_fields} == {
        name: getattr(TrainConfig(), name) for name in BackboneShape.model_fields}
    with pytest.raises(ValidationError) as training_error:  # a bad shape: the same error on both sides
        TrainConfig(**shape)
    with pytest.raises(ValidationError) as weights_error:
        DenoiserConfig(target_dim=4, query_dim=4, **shape)
    assert [e["msg"] for e in training_error.value.errors()] == [e["msg"] for e in weights_error.value.errors()]


def test_a_config_written_before_the_option_loads_without_it(tmp_path):
    raw = json.loads((shipped_prior_path() / CONFIG_FILE).read_text())
    assert raw["denoiser"]["cond_residual"] is True  # the shipped recipe uses the direct path
    del raw["denoiser"]["cond_residual"]  # a config.json written before the option existed
    (tmp_path / CONFIG_FILE).write_text(json.dumps(raw))
    assert read_config(tmp_path).denoiser.cond_residual is False


# -- the direct path -------------------------------------------------------------------------------


def test_cond_residual_conditions_the_output_without_film():
    torch.manual_seed(0)
    x, sigma = torch.randn(4, TARGET_DIM), torch.full((4,), 0.3)
    cond_a, cond_b = torch.randn(4, QUERY_DIM), torch.randn(4, QUERY_DIM)
    direct = residual_prior(True).model
    plain = residual_prior(False).model
    plain.net.load_state_dict(direct.net.state_dict())  # same parameters: only the flag differs
    with torch.no_grad():
        assert not torch.allclose(direct(x, sigma, cond_a), plain(x, sigma, cond_a))
        zero_film(direct.net)
        zero_film(plain.net)
        # without FiLM, the plain backbone ignores the condition; the direct path still reads it
        torch.testing.assert_close(plain(x, sigma, cond_a), plain(x, sigma, cond_b), rtol=0, atol=0)
        diff = (direct(x, sigma, cond_a) - direct(x, sigma, cond_b)).abs().amax(dim=1)
        assert bool((diff > 1e-3).all())
        # a null condition is the zero condition on the direct path too
        null = torch.tensor([True, False, True, False])
        masked = direct(x, sigma, cond_a, null=null)
        torch.testing.assert_close(masked[null], direct(x, sigma, torch.zeros_like(cond_a))[null])
        torch.testing.assert_close(masked[~null], direct(x, sigma, cond_a)[~null])


def test_prepared_condition_carries_the_residual_rows():
    net = residual_prior(True).model.net
    cond = torch.randn(3, QUERY_DIM)
    prepared = net.prepare(cond)
    assert prepared.residual is not None and prepared.residual.shape == (3, 24)
    torch.testing.assert_close(prepared.residual, net.cond_embed(cond))
    taken = prepared.take(torch.tensor([2, 0, 2]))
    torch.testing.assert_close(taken.residual, prepared.residual[[2, 0, 2]])
    assert residual_prior(False).model.net.prepare(cond).residual is None
    # cross_attention has no residual path
    xattn = build_denoiser(DenoiserConfig(architecture="cross_attention", target_dim=8, query_dim=4, width=16, depth=1, heads=4))
    assert xattn.prepare(torch.randn(2, 3, 4)).residual is None


# -- weights round trip ----------------------------------------------------------------------------


def test_cond_residual_prior_round_trips_through_save_and_load(tmp_path):
    weights = residual_prior(True, seed=3)
    directory = weights.save_pretrained(tmp_path / "prior", training={"steps": 1})
    raw = json.loads((directory / CONFIG_FILE).read_text())
    assert raw["denoiser"]["cond_residual"] is True
    loaded = from_pretrained(directory)
    assert loaded.config.denoiser.cond_residual is True
    state, loaded_state = weights.model.state_dict(), loaded.model.state_dict()
    assert state.keys() == loaded_state.keys()
    assert all(torch.equal(state[k], loaded_state[k]) for k in state)
    x, sigma, cond = torch.randn(5, TARGET_DIM), torch.full((5,), 0.5), torch.randn(5, QUERY_DIM)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x, sigma, cond), weights.model(x, sigma, cond), rtol=0, atol=0)
    query = np.random.default_rng(0).standard_normal(QUERY_DIM).astype(np.float32)
    a = DiffusionSampler(weights, device="cpu").sample(query, 4, generator=np.random.default_rng(1), guidance=1.0)
    b = DiffusionSampler(loaded, device="cpu").sample(query, 4, generator=np.random.default_rng(1), guidance=1.0)
    assert np.array_equal(a.vectors, b.vectors)
    # the flag is what loading restored: the same tensors without it give other seeds
    raw["denoiser"]["cond_residual"] = False
    raw.pop("files")
    flipped = PriorWeights(PriorConfig.model_validate(raw), residual_prior(False).model)
    flipped.model.load_state_dict(loaded.model.state_dict())
    c = DiffusionSampler(flipped, device="cpu").sample(query, 4, generator=np.random.default_rng(1), guidance=1.0)
    assert not np.allclose(a.vectors, c.vectors)


# -- guidance batching -----------------------------------------------------------------------------


@pytest.mark.parametrize("use_negative", [False, True])
def test_guided_batches_match_separate_passes_with_the_direct_path(use_negative):
    model = residual_prior(True, seed=1).model
    zero_film(model.net)  # the condition reaches the output through the residual rows only
    torch.manual_seed(2)
    queries, n, omega = 3, 2, 1.5
    cond = torch.randn(queries, QUERY_DIM)
    negative = torch.randn(queries, QUERY_DIM) if use_negative else None
    x, sigma = torch.randn(queries * n, TARGET_DIM), torch.tensor([0.4])
    with torch.no_grad():
        guided = GuidedDenoiser(model, cond, n, guidance=omega, negative=negative)(x, sigma)
        rows = cond.repeat_interleave(n, dim=0)
        d_cond = model(x, sigma, rows)
        if use_negative:
            d_other = model(x, sigma, negative.repeat_interleave(n, dim=0))
        else:
            d_other = model(x, sigma, torch.zeros_like(rows), null=torch.ones(len(rows), dtype=torch.bool))
        expected = (1 + omega) * d_cond - omega * d_other
    torch.testing.assert_close(guided, expected, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(d_cond, d_other)  # the two branches differ, so a row mix-up would show


def test_sampling_with_guidance_and_a_negative_prompt():
    weights = residual_prior(True, seed=4)
    sampler = DiffusionSampler(weights, device="cpu")
    rng = np.random.default_rng(0)
    query, negative = rng.standard_normal((2, QUERY_DIM)).astype(np.float32)
    plain = sampler.sample(query, 5, generator=np.random.default_rng(7), guidance=2.0)
    neg = sampler.sample(query, 5, generator=np.random.default_rng(7), guidance=2.0, negative=negative)
    assert neg.vectors.shape == (5, TARGET_DIM) and np.all(np.isfinite(neg.vectors))
    np.testing.assert_allclose(np.linalg.norm(neg.vectors, axis=1), 1.0, atol=1e-5)
    assert neg.info["negative"] is True and not np.allclose(plain.vectors, neg.vectors)
    # a batch of queries gives each query the seeds it gets alone
    other = rng.standard_normal(QUERY_DIM).astype(np.float32)
    batch = sampler.sample_many([query, other], 3, seeds=[11, 12], guidance=2.0, negative=negative)
    alone = sampler.sample_many([other], 3, seeds=[12], guidance=2.0, negative=negative)
    np.testing.assert_allclose(batch.vectors[1], alone.vectors[0], atol=1e-5)


# -- a tiny training run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world():
    return make_ambiguous_world(n_concepts=40, modes=2, items_per_mode=4, target_dim=16, query_dim=8, latent_dim=4)


def _config(**overrides) -> TrainConfig:
    base = dict(width=32, depth=2, noise_embed_dim=16, steps=200, batch_size=64, lr=3e-3, warmup_steps=10,
                ema_decay=0.9, log_every=20, eval_every=100, checkpoint_every=100, progress=False, threads=1,
                cond_residual=True, sigma_distribution="log_normal", sigma_p_mean=-0.5, sigma_p_std=1.2)
    base.update(overrides)
    return TrainConfig(**base)


def test_training_with_both_options(world, tmp_path, monkeypatch):
    calls = []
    lognormal = trainer_module.sample_training_sigmas_lognormal

    def spy(n, sigma_data, **kwargs):
        calls.append(kwargs)
        return lognormal(n, sigma_data, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("log-uniform sigmas drawn in a log_normal run")

    monkeypatch.setattr(trainer_module, "sample_training_sigmas_lognormal", spy)
    monkeypatch.setattr(trainer_module, "sample_training_sigmas", forbidden)
    pairs = world.training_pairs(per_item=1)
    result = train(_config(), pairs, tmp_path, val_pairs=pairs.subset(np.arange(64)))
    # one draw per training step, plus one per validation pass (same distribution, fixed generator)
    assert len(calls) == 200 + 2
    assert all(c["p_mean"] == -0.5 and c["p_std"] == 1.2 for c in calls)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    raw = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert raw["denoiser"]["cond_residual"] is True
    assert raw["training"]["sigma_distribution"] == "log_normal" and raw["training"]["cond_residual"] is True
    log = json.loads((tmp_path / "training_log.json").read_text())
    assert log["config"]["sigma_distribution"] == "log_normal" and log["config"]["sigma_p_std"] == 1.2
    weights = from_pretrained(tmp_path)
    assert weights.config.denoiser.cond_residual is True
    sampler = DiffusionSampler(str(tmp_path), device="cpu")
    seeds = sampler.sample(pairs.queries[0], 4, generator=np.random.default_rng(0), guidance=1.0, negative=pairs.queries[5])
    assert seeds.vectors.shape == (4, 16) and np.all(np.isfinite(seeds.vectors))


def test_default_run_records_the_defaults_and_refuses_a_changed_resume(world, tmp_path):
    pairs = world.training_pairs(per_item=1)
    train(_config(steps=4, cond_residual=False, sigma_distribution="log_uniform", warmup_steps=1), pairs, tmp_path / "a")
    summary = json.loads((tmp_path / "a" / CONFIG_FILE).read_text())["training"]
    assert summary["sigma_distribution"] == "log_uniform" and summary["cond_residual"] is False
    assert from_pretrained(tmp_path / "a").config.denoiser.cond_residual is False
    train(_config(steps=8, checkpoint_every=4, warmup_steps=1), pairs, tmp_path / "b", stop_after=4)
    with pytest.raises(ConfigError, match="different configuration.*sigma_distribution"):
        train(_config(steps=8, checkpoint_every=4, warmup_steps=1, sigma_distribution="log_uniform"), pairs, tmp_path / "b")
