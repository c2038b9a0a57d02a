"""Preconditioning, schedule, grid and training-distribution identities (Diff4Steer appendix A)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genseek.samplers import edm
from genseek.samplers.denoisers import DenoiserConfig, build_denoiser

sigmas_st = st.floats(min_value=1e-4, max_value=50.0)
sigma_data_st = st.floats(min_value=0.01, max_value=2.0)


@settings(max_examples=60, deadline=None)
@given(sigma=sigmas_st, sigma_data=sigma_data_st)
def test_preconditioning_identities(sigma, sigma_data):
    s = torch.tensor(sigma, dtype=torch.float64)
    skip, out, cin = edm.c_skip(s, sigma_data), edm.c_out(s, sigma_data), edm.c_in(s, sigma_data)
    # eq. 9-11 closed forms
    assert float(skip) == pytest.approx(sigma_data**2 / (sigma**2 + sigma_data**2), rel=1e-12)
    assert float(cin) * math.sqrt(sigma**2 + sigma_data**2) == pytest.approx(1.0, rel=1e-12)
    # the effective training target F_target = (z - c_skip (z + σ ε)) / c_out has unit variance (EDM):
    # ((1 - c_skip)^2 σ_d^2 + c_skip^2 σ^2) / c_out^2 = 1
    assert float(((1 - skip) ** 2 * sigma_data**2 + skip**2 * s**2) / out**2) == pytest.approx(1.0, rel=1e-9)
    # the network input c_in · (z + σ ε) has unit variance
    assert float(cin**2 * (sigma_data**2 + s**2)) == pytest.approx(1.0, rel=1e-12)
    # eq. 12 and eq. 14: uniform effective weight λ(σ) c_out(σ)^2 = 1
    assert float(edm.c_noise(s)) == pytest.approx(0.25 * math.log(sigma), rel=1e-12)
    assert float(edm.loss_weight(s, sigma_data) * out**2) == pytest.approx(1.0, rel=1e-9)


def test_limits_of_preconditioning():
    tiny, huge = torch.tensor(1e-8, dtype=torch.float64), torch.tensor(1e6, dtype=torch.float64)
    assert float(edm.c_skip(tiny, 0.1)) == pytest.approx(1.0) and float(edm.c_out(tiny, 0.1)) < 1e-7
    assert float(edm.c_skip(huge, 0.1)) < 1e-12 and float(edm.c_out(huge, 0.1)) == pytest.approx(0.1, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(t=st.floats(min_value=0.0, max_value=1.0), sigma_data=sigma_data_st)
def test_tangent_schedule(t, sigma_data):
    schedule = edm.TangentSchedule(sigma_data)
    tt = torch.tensor(t, dtype=torch.float64)
    sigma = schedule.sigma(tt)
    expected = sigma_data * 100.0 * math.tan(1.5 * t) / math.tan(1.5)
    assert float(sigma) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert float(schedule.t_of_sigma(sigma)) == pytest.approx(t, abs=1e-12)
    h = 1e-6
    if h < t < 1 - h:
        slope = (schedule.sigma(tt + h) - schedule.sigma(tt - h)) / (2 * h)
        assert float(schedule.sigma_dot(tt)) == pytest.approx(float(slope), rel=1e-5)


def test_schedule_endpoints_and_validation():
    schedule = edm.TangentSchedule(0.044)
    assert float(schedule.sigma(torch.tensor(0.0))) == 0.0
    assert float(schedule.sigma(torch.tensor(1.0, dtype=torch.float64))) == pytest.approx(4.4, rel=1e-12)
    assert schedule.sigma_top == pytest.approx(4.4)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            edm.TangentSchedule(bad)
    with pytest.raises(ValueError):
        edm.TangentSchedule(0.1, alpha_max=1.6)


@pytest.mark.parametrize("steps", [1, 2, 8, 256])
def test_karras_grid(steps):
    schedule = edm.TangentSchedule(0.088)
    sigmas = schedule.karras_sigmas(steps)
    assert sigmas.dtype == torch.float64 and len(sigmas) == steps + 1
    assert float(sigmas[0]) == pytest.approx(schedule.sigma_top) and float(sigmas[-1]) == 0.0
    assert bool((sigmas[:-1] > sigmas[1:]).all())
    if steps > 1:
        assert float(sigmas[-2]) == pytest.approx(edm.SIGMA_MIN)
        # ρ = 7: the grid is linear in σ^(1/7)
        roots = sigmas[:-1] ** (1 / 7)
        assert torch.allclose(roots[1:] - roots[:-1], (roots[1] - roots[0]).expand(steps - 1), rtol=1e-9)
    times = schedule.karras_times(steps)
    assert float(times[0]) == pytest.approx(1.0) and float(times[-1]) == 0.0
    assert torch.allclose(schedule.sigma(times), sigmas, rtol=1e-9, atol=1e-15)


def test_karras_rejects_bad_arguments():
    with pytest.raises(ValueError):
        edm.karras_sigmas(0, sigma_max=1.0)
    with pytest.raises(ValueError):
        edm.karras_sigmas(4, sigma_max=1e-5, sigma_min=1e-4)


def test_training_sigma_distribution_is_log_uniform():
    gen = torch.Generator().manual_seed(0)
    sigma_data = 0.05
    sigmas = edm.sample_training_sigmas(200_000, sigma_data, generator=gen, dtype=torch.float64)
    lo, hi = edm.SIGMA_MIN, sigma_data * edm.SIGMA_MAX
    assert float(sigmas.min()) >= lo and float(sigmas.max()) <= hi
    delta = torch.log(sigmas / lo) / math.log(hi / lo)  # eq. 13: δ ~ U[0, 1]
    assert float(delta.mean()) == pytest.approx(0.5, abs=0.005)
    assert float(delta.var()) == pytest.approx(1 / 12, abs=0.002)
    again = edm.sample_training_sigmas(5, sigma_data, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again, edm.sample_training_sigmas(5, sigma_data, generator=torch.Generator().manual_seed(3)))


def test_training_sigma_distribution_log_normal_median_and_spread():
    gen = torch.Generator().manual_seed(0)
    sigma_data, p_mean, p_std = 0.2, -0.4, 0.8  # clipping is > 8 std away on both sides
    sigmas = edm.sample_training_sigmas_lognormal(
        200_000, sigma_data, p_mean=p_mean, p_std=p_std, generator=gen, dtype=torch.float64
    )
    log_ratio = torch.log(sigmas / sigma_data)
    assert float(sigmas.median()) == pytest.approx(sigma_data * math.exp(p_mean), rel=0.01)
    assert float(log_ratio.mean()) == pytest.approx(p_mean, abs=0.01)
    assert float(log_ratio.std()) == pytest.approx(p_std, rel=0.01)
    # one std either side of the median: exp(p_mean ± p_std)·σ_data holds ~68 % of the draws
    inside = (sigmas > sigma_data * math.exp(p_mean - p_std)) & (sigmas < sigma_data * math.exp(p_mean + p_std))
    assert float(inside.double().mean()) == pytest.approx(0.6827, abs=0.005)
    # the defaults: median σ_data (p_mean 0), log-spread 1.5
    default = edm.sample_training_sigmas_lognormal(100_000, 0.5, generator=torch.Generator().manual_seed(1))
    assert default.dtype == torch.float32
    assert float(default.median()) == pytest.approx(0.5, rel=0.02)
    assert float(torch.log(default.double() / 0.5).std()) == pytest.approx(1.5, rel=0.02)


def test_training_sigma_distribution_log_normal_is_clipped_and_seeded():
    sigma_data = 0.1
    wide = edm.sample_training_sigmas_lognormal(
        50_000, sigma_data, p_std=6.0, generator=torch.Generator().manual_seed(2), dtype=torch.float64
    )
    lo, hi = edm.SIGMA_MIN, sigma_data * edm.SIGMA_MAX
    assert float(wide.min()) == lo and float(wide.max()) == pytest.approx(hi, rel=1e-12)
    # the clipped mass matches the normal tails: P(z < ln(lo/σd)/6) and P(z > ln(σ_max)/6)
    normal = torch.distributions.Normal(0.0, 1.0)
    below = float(normal.cdf(torch.tensor(math.log(lo / sigma_data) / 6.0)))
    above = 1.0 - float(normal.cdf(torch.tensor(math.log(edm.SIGMA_MAX) / 6.0)))
    assert float((wide == lo).double().mean()) == pytest.approx(below, abs=0.01)
    assert float((wide == wide.max()).double().mean()) == pytest.approx(above, abs=0.01)
    # custom range
    narrow = edm.sample_training_sigmas_lognormal(
        10_000, sigma_data, p_std=3.0, sigma_min=0.01, sigma_max=5.0, generator=torch.Generator().manual_seed(2)
    )
    assert float(narrow.min()) == pytest.approx(0.01) and float(narrow.max()) == pytest.approx(0.5)
    assert bool(((narrow >= 0.01 - 1e-9) & (narrow <= 0.5 + 1e-7)).all())
    # deterministic for a seed, different across seeds
    draw = lambda seed: edm.sample_training_sigmas_lognormal(64, 0.3, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert torch.equal(draw(5), draw(5)) and not torch.equal(draw(5), draw(6))
    assert bool((draw(5) > 0).all())


def test_precond_wraps_network_and_loss():
    config = DenoiserConfig(target_dim=8, query_dim=4, width=16, depth=2)
    model = edm.EDMPrecond(build_denoiser(config), sigma_data=0.3)
    x, cond = torch.randn(5, 8), torch.randn(5, 4)
    sigma = torch.full((5,), 0.7)
    # zero-initialised head: D = c_skip · x exactly (eq. 8 with F = 0)
    assert torch.allclose(model(x, sigma, cond), edm.c_skip(sigma[:, None], 0.3) * x)
    # a shared (1,) sigma equals the per-row one
    assert torch.allclose(model(x, torch.tensor([0.7]), cond), model(x, sigma, cond))
    target = torch.randn(5, 8)
    loss = edm.denoising_loss(model(x, sigma, cond), target, sigma, 0.3)
    manual = (edm.loss_weight(sigma, 0.3) * ((model(x, sigma, cond) - target) ** 2).mean(-1)).mean()
    assert loss.item() == pytest.approx(manual.item())
    with pytest.raises(ValueError):
        edm.EDMPrecond(build_denoiser(config), sigma_data=0.0)


def test_regression_predict_is_one_pass_at_zero_input():
    config = DenoiserConfig(target_dim=8, query_dim=4, width=16, depth=2)
    torch.manual_seed(0)
    model = edm.EDMPrecond(build_denoiser(config), sigma_data=0.3)
    torch.nn.init.normal_(model.net.out_proj.weight)
    cond = torch.randn(3, 4)
    out = edm.regression_predict(model, cond)
    assert out.shape == (3, 8)
    assert torch.allclose(out, model(torch.zeros(3, 8), torch.tensor([30.0]), cond))
