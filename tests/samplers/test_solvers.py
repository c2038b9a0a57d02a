"""Solver correctness against closed-form denoisers: samples match the true mean and covariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genseek.samplers.analytic import GaussianMixtureDenoiser
from genseek.samplers.edm import TangentSchedule, karras_sigmas
from genseek.samplers.guidance import GuidedDenoiser
from genseek.samplers.solvers import NFE, SOLVERS, ddim_invert, sample_ddim, sample_heun

# (solver, steps): stochastic EM needs many steps, the ODE solvers few.
CASES = [("euler_maruyama", 200), ("heun", 24), ("dpmpp_2m", 32), ("ddim", 128)]
N = 6000


def _sample(model, cond, solver, steps, seed=0, n=N):
    schedule = TangentSchedule(model.sigma_data)
    sigmas = schedule.karras_sigmas(steps)
    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        denoise = GuidedDenoiser(model, cond[None], n, guidance=0.0)
        x = torch.randn(n, model.means.shape[1], generator=gen) * float(sigmas[0])
        out = SOLVERS[solver](denoise, x, sigmas, generator=gen)
    return out, denoise.evaluations


@pytest.mark.parametrize(("solver", "steps"), CASES)
def test_gaussian_mean_and_covariance(solver, steps):
    # an anisotropic Gaussian in 4-d, off-centre
    model = GaussianMixtureDenoiser(torch.tensor([[0.4, -0.2, 0.1, 0.0]]), torch.tensor([[0.04, 0.01, 0.09, 0.0025]]))
    samples, evaluations = _sample(model, torch.ones(1), solver, steps)
    assert evaluations == NFE[solver](steps)
    mean, cov = samples.mean(0), torch.cov(samples.T)
    true_mean, true_cov = model.mean(), model.covariance()
    assert torch.allclose(mean, true_mean, atol=4 * float(true_cov.diagonal().max().sqrt()) / np.sqrt(N))
    # std per dimension within 5 %, correlations absent
    assert torch.allclose(cov.diagonal().sqrt(), true_cov.diagonal().sqrt(), rtol=0.05)
    std = cov.diagonal().sqrt()
    correlation = cov / (std[:, None] * std[None, :])
    assert float((correlation - torch.eye(4)).abs().max()) < 5 / np.sqrt(N)


@pytest.mark.parametrize(("solver", "steps"), CASES)
def test_mixture_weights_and_conditioning(solver, steps):
    means = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.2]])
    model = GaussianMixtureDenoiser(means, torch.full((3,), 0.01))
    cond = torch.tensor([0.6, 0.3, 0.1])  # the condition is the component weights
    samples, _ = _sample(model, cond, solver, steps, seed=1, n=3000)
    nearest = torch.cdist(samples, means).argmin(1)
    fractions = torch.bincount(nearest, minlength=3).double() / len(samples)
    assert torch.allclose(fractions, cond.double(), atol=0.04), fractions
    mean = samples.mean(0)
    assert torch.allclose(mean, model.mean(cond), atol=0.06)


@pytest.mark.parametrize(("order", "tolerance"), [(1, 0.1), (2, 1e-3)])
def test_inversion_round_trip(order, tolerance):
    model = GaussianMixtureDenoiser(torch.tensor([[0.3, 0.1, -0.2]]), torch.tensor([[0.02, 0.05, 0.01]]))
    sigmas = karras_sigmas(20, sigma_max=0.5)
    x = model.means + torch.randn(16, 3, generator=torch.Generator().manual_seed(0)) * model.variances.sqrt()
    with torch.inference_mode():
        denoise = GuidedDenoiser(model, torch.ones(1, 1), 16)
        latent = ddim_invert(denoise, x, sigmas, order=order)
        back = (sample_heun if order == 2 else sample_ddim)(denoise, latent, sigmas)
    assert float((latent - x).norm(dim=1).mean()) > 0.3  # it really was re-noised
    assert float((back - x).norm(dim=1).max()) < tolerance


def test_deterministic_solvers_ignore_the_generator_and_em_uses_it():
    model = GaussianMixtureDenoiser(torch.zeros(1, 3), torch.full((1,), 0.05))
    a, _ = _sample(model, torch.ones(1), "heun", 6, seed=0, n=4)
    sigmas = TangentSchedule(model.sigma_data).karras_sigmas(6)
    with torch.inference_mode():
        denoise = GuidedDenoiser(model, torch.ones(1, 1), 4)
        x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0)) * float(sigmas[0])
        b = SOLVERS["heun"](denoise, x, sigmas, generator=torch.Generator().manual_seed(99))
    assert torch.equal(a, b)
    c, _ = _sample(model, torch.ones(1), "euler_maruyama", 6, seed=0, n=4)
    d, _ = _sample(model, torch.ones(1), "euler_maruyama", 6, seed=0, n=4)
    e, _ = _sample(model, torch.ones(1), "euler_maruyama", 6, seed=1, n=4)
    assert torch.equal(c, d) and not torch.equal(c, e)
