"""A closed-form conditional denoiser: the exact ``D(z̃, σ, q)`` of a Gaussian mixture.

For data ``z ~ Σ_k w_k·N(μ_k, diag(s_k²))`` and ``z̃ = z + σ·ε``, the ideal denoiser is the
posterior mean (Tweedie)::

    D(z̃, σ) = Σ_k r_k(z̃)·[μ_k + s_k²/(s_k² + σ²)·(z̃ − μ_k)],
    r_k ∝ w_k·N(z̃; μ_k, diag(s_k² + σ²))

The condition ``q`` is a ``(K,)`` vector of non-negative component weights (normalised here);
the null condition uses the mixture's own weights. Because every quantity is known in closed
form, the solvers' samples can be checked against the true mean and covariance, and guidance,
negative prompts and steering against their exact effect (``tests/samplers``). It implements
the interface :class:`~genseek.samplers.guidance.GuidedDenoiser` needs (``prepare`` /
``forward_prepared``), so it can stand in for a trained :class:`~genseek.samplers.edm.EDMPrecond`
in a :class:`~genseek.samplers.weights.PriorWeights` — the test kit for sampler plugins.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from .denoisers import PreparedCondition


class GaussianMixtureDenoiser(nn.Module):
    """Exact denoiser of a diagonal Gaussian mixture, conditioned on component weights.

    Args:
        means: ``(K, d)`` component means.
        variances: ``(K, d)`` per-dimension variances (or ``(K,)`` isotropic).
        weights: ``(K,)`` unconditional mixture weights (default uniform).
    """

    def __init__(self, means: torch.Tensor, variances: torch.Tensor, weights: torch.Tensor | None = None) -> None:
        super().__init__()
        means = torch.as_tensor(means, dtype=torch.float32)
        variances = torch.as_tensor(variances, dtype=torch.float32)
        if variances.ndim == 1:
            variances = variances[:, None].expand_as(means)
        if weights is None:
            weights = torch.full((means.shape[0],), 1.0 / means.shape[0])
        weights = torch.as_tensor(weights, dtype=torch.float32)
        self.register_buffer("means", means.clone())
        self.register_buffer("variances", variances.clone())
        self.register_buffer("weights", weights / weights.sum())
        k, d = means.shape
        self.net = SimpleNamespace(config=SimpleNamespace(target_dim=d, query_dim=k, sequence=False))

    @property
    def sigma_data(self) -> float:
        """Population std of the mixture, averaged over dimensions."""
        mean = (self.weights[:, None] * self.means).sum(0)
        second = (self.weights[:, None] * (self.variances + self.means**2)).sum(0)
        return float((second - mean**2).mean().sqrt())

    def mean(self, weights: torch.Tensor | None = None) -> torch.Tensor:
        """True mean of the (conditional) distribution."""
        w = self.weights if weights is None else weights / weights.sum()
        return (w[:, None] * self.means).sum(0)

    def covariance(self, weights: torch.Tensor | None = None) -> torch.Tensor:
        """True covariance of the (conditional) distribution."""
        w = self.weights if weights is None else weights / weights.sum()
        mu = self.mean(w)
        cov = torch.zeros(self.means.shape[1], self.means.shape[1])
        for k in range(len(w)):
            diff = (self.means[k] - mu)[:, None]
            cov += w[k] * (torch.diag(self.variances[k]) + diff @ diff.T)
        return cov

    def prepare(self, cond: torch.Tensor, *, null: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None) -> PreparedCondition:
        weights = cond.clamp_min(0.0)
        weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)
        empty = cond.clamp_min(0.0).sum(-1) <= 0  # a zero condition is the null condition
        if null is not None:
            empty = empty | null.to(torch.bool)
        weights = torch.where(empty[:, None], self.weights.expand_as(weights), weights)
        return PreparedCondition(film=[torch.log(weights.clamp_min(1e-30))])

    def forward_prepared(self, x: torch.Tensor, sigma: torch.Tensor, prepared: PreparedCondition) -> torch.Tensor:
        sigma2 = sigma.reshape(-1, 1, 1).to(x.dtype) ** 2
        var = self.variances[None] + sigma2  # (1 or B, K, d)
        diff = x[:, None, :] - self.means[None]  # (B, K, d)
        log_lik = -0.5 * ((diff**2) / var + torch.log(var)).sum(-1)  # (B, K)
        resp = torch.softmax(prepared.film[0] + log_lik, dim=-1)
        posterior = self.means[None] + self.variances[None] / var * diff
        return (resp[..., None] * posterior).sum(1)

    def forward(self, x, sigma, cond, null=None, cond_mask=None):
        return self.forward_prepared(x, torch.as_tensor(sigma, dtype=x.dtype), self.prepare(cond, null=null))


__all__ = ["GaussianMixtureDenoiser"]
