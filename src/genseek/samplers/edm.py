"""EDM maths of the Diff4Steer prior, as small pure torch functions.

Everything here follows Diff4Steer (arXiv:2412.04746) appendix A.1.2, which itself follows
Karras et al. 2022 ("EDM"):

* preconditioning ``D(z̃, σ, q) = c_skip(σ)·z̃ + c_out(σ)·F(c_in(σ)·z̃, c_noise(σ), q)`` (eq. 8)
  with the coefficients of eq. 9–12 — :func:`c_skip`, :func:`c_out`, :func:`c_in`, :func:`c_noise`,
  wrapped around a raw network by :class:`EDMPrecond`;
* the VE tangent noise schedule ``σ(t) = σ_data·σ_max·tan(α_max·t)/tan(α_max)`` (eq. 5–6),
  :class:`TangentSchedule`;
* the Karras solver grid with ``ρ = 7`` (eq. 15), :func:`karras_sigmas` / :meth:`TangentSchedule.karras_times`;
* the training noise distribution ``σ = σ_min·(σ_data·σ_max/σ_min)^δ``, ``δ ~ U[0, 1]`` (eq. 13),
  :func:`sample_training_sigmas`, and the EDM loss weight ``λ(σ) = (σ_data² + σ²)/(σ_data·σ)²``
  (eq. 14; see :func:`loss_weight` for the square), combined in :func:`denoising_loss` (eq. 1).

Note on ``σ_max``: the paper's ``σ_max = 100`` scales the *normalised* schedule ``σ̂(t)`` (eq. 6);
the absolute largest noise level is ``σ(1) = σ_data·σ_max``. ``σ_min = 1e-4`` is an absolute clip.

This module is a stable API: the training package imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

#: Defaults of Diff4Steer appendix A.1.2.
ALPHA_MAX = 1.5
SIGMA_MAX = 100.0
SIGMA_MIN = 1e-4
RHO = 7.0


def _as_tensor(sigma: torch.Tensor | float, like: torch.Tensor | None = None) -> torch.Tensor:
    if isinstance(sigma, torch.Tensor):
        return sigma
    if like is not None:
        return torch.as_tensor(sigma, dtype=like.dtype, device=like.device)
    return torch.as_tensor(sigma, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# Preconditioning (eq. 8–12)
# ---------------------------------------------------------------------------------------------


def c_skip(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """Skip scaling ``σ_data² / (σ² + σ_data²)`` (Diff4Steer eq. 9)."""
    sigma = _as_tensor(sigma)
    return sigma_data**2 / (sigma**2 + sigma_data**2)


def c_out(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """Output scaling ``σ·σ_data / √(σ_data² + σ²)`` (Diff4Steer eq. 10)."""
    sigma = _as_tensor(sigma)
    return sigma * sigma_data / torch.sqrt(sigma_data**2 + sigma**2)


def c_in(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """Input scaling ``1 / √(σ² + σ_data²)`` (Diff4Steer eq. 11)."""
    sigma = _as_tensor(sigma)
    return 1.0 / torch.sqrt(sigma**2 + sigma_data**2)


def c_noise(sigma: torch.Tensor) -> torch.Tensor:
    """Noise conditioning input ``¼·ln σ`` (Diff4Steer eq. 12). ``σ`` must be positive."""
    sigma = _as_tensor(sigma)
    return 0.25 * torch.log(sigma)


# ---------------------------------------------------------------------------------------------
# Noise schedule (eq. 5–6) and solver grid (eq. 15)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TangentSchedule:
    """The VE tangent schedule ``σ(t) = σ_data·σ_max·tan(α_max·t)/tan(α_max)``, ``t ∈ [0, 1]``.

    Diff4Steer eq. 5–6. ``σ(0) = 0`` and ``σ(1) = σ_data·σ_max`` (:attr:`sigma_top`). Functions
    accept tensors of any shape and work element-wise (use float64 for grids).

    Attributes:
        sigma_data: population std of the target embeddings (measured, stored with the weights).
        sigma_max: the normalised schedule's maximum ``σ̂(1)`` (paper: 100).
        alpha_max: the tangent's domain end (paper: 1.5).
    """

    sigma_data: float
    sigma_max: float = SIGMA_MAX
    alpha_max: float = ALPHA_MAX

    def __post_init__(self) -> None:
        if not (self.sigma_data > 0 and math.isfinite(self.sigma_data)):
            raise ValueError(f"sigma_data must be a positive finite number, got {self.sigma_data!r}")
        if not self.sigma_max > 0:
            raise ValueError(f"sigma_max must be positive, got {self.sigma_max!r}")
        if not 0 < self.alpha_max < math.pi / 2:
            raise ValueError(f"alpha_max must lie in (0, π/2), got {self.alpha_max!r}")

    @property
    def sigma_top(self) -> float:
        """``σ(1) = σ_data·σ_max``, the noise level sampling starts from."""
        return self.sigma_data * self.sigma_max

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """``σ(t)`` (eq. 5–6)."""
        t = _as_tensor(t)
        return self.sigma_top * torch.tan(self.alpha_max * t) / math.tan(self.alpha_max)

    def sigma_dot(self, t: torch.Tensor) -> torch.Tensor:
        """``dσ/dt = σ_data·σ_max·α_max / (tan(α_max)·cos²(α_max·t))``."""
        t = _as_tensor(t)
        return self.sigma_top * self.alpha_max / (math.tan(self.alpha_max) * torch.cos(self.alpha_max * t) ** 2)

    def t_of_sigma(self, sigma: torch.Tensor) -> torch.Tensor:
        """The inverse ``t(σ) = arctan(σ·tan(α_max)/(σ_data·σ_max)) / α_max``."""
        sigma = _as_tensor(sigma)
        return torch.arctan(sigma * math.tan(self.alpha_max) / self.sigma_top) / self.alpha_max

    def karras_sigmas(self, steps: int, *, sigma_min: float = SIGMA_MIN, rho: float = RHO) -> torch.Tensor:
        """Karras grid from ``σ(1)`` down to ``sigma_min``, with a final 0 appended: ``steps + 1`` values."""
        return karras_sigmas(steps, sigma_max=self.sigma_top, sigma_min=sigma_min, rho=rho)

    def karras_times(self, steps: int, *, sigma_min: float = SIGMA_MIN, rho: float = RHO) -> torch.Tensor:
        """The Karras grid mapped to schedule times (eq. 15): ``t_0 = 1 > … > t_{N-1} > t_N = 0``."""
        return self.t_of_sigma(self.karras_sigmas(steps, sigma_min=sigma_min, rho=rho))


def karras_sigmas(steps: int, *, sigma_max: float, sigma_min: float = SIGMA_MIN, rho: float = RHO) -> torch.Tensor:
    """Karras et al. noise grid (Diff4Steer eq. 15, ρ = 7), float64, with a trailing 0.

    ``σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ`` for ``i = 0..N−1``, then
    ``σ_N = 0`` so the last solver step lands on the clean estimate. ``steps = 1`` gives
    ``[σ_max, 0]``.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if not 0 < sigma_min <= sigma_max:
        raise ValueError(f"need 0 < sigma_min <= sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
    if steps == 1:
        return torch.tensor([sigma_max, 0.0], dtype=torch.float64)
    ramp = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)])


# ---------------------------------------------------------------------------------------------
# Training distribution (eq. 13), loss weight (eq. 14), loss (eq. 1)
# ---------------------------------------------------------------------------------------------


def sample_training_sigmas(
    n: int,
    sigma_data: float,
    *,
    generator: torch.Generator | None = None,
    sigma_min: float = SIGMA_MIN,
    sigma_max: float = SIGMA_MAX,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Draw ``n`` training noise levels ``σ = σ_min·(σ_data·σ_max/σ_min)^δ``, ``δ ~ U[0,1]`` (eq. 13)."""
    delta = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    top = sigma_data * sigma_max
    return (sigma_min * (top / sigma_min) ** delta).to(dtype)


def sample_training_sigmas_lognormal(
    n: int,
    sigma_data: float,
    *,
    p_mean: float = 0.0,
    p_std: float = 1.5,
    generator: torch.Generator | None = None,
    sigma_min: float = SIGMA_MIN,
    sigma_max: float = SIGMA_MAX,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Draw ``n`` training noise levels with ``ln(σ/σ_data) ~ N(p_mean, p_std²)`` (Karras et al. 2022, §5).

    EDM's log-normal, expressed relative to ``σ_data`` so that it follows the data's scale; clipped
    to the schedule's range ``[σ_min, σ_data·σ_max]``. It spends the training budget around
    ``σ ≈ σ_data``, where the denoiser has to use the condition, instead of at tiny noise levels.
    """
    normal = torch.randn(n, generator=generator, device=device, dtype=torch.float64)
    sigma = sigma_data * torch.exp(p_mean + p_std * normal)
    return sigma.clamp(sigma_min, sigma_data * sigma_max).to(dtype)


def loss_weight(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """EDM loss weight ``λ(σ) = (σ_data² + σ²)/(σ_data·σ)²`` (eq. 14, Karras et al. Table 1).

    Eq. 14 as printed in Diff4Steer lacks the square in the denominator, but the text states it
    is "the EDM weighting … designed to have an effective weighting that is uniform across all
    noise levels"; that property, ``λ(σ)·c_out(σ)² = 1``, holds only with the square (EDM's
    definition), which is what is implemented (and tested).
    """
    sigma = _as_tensor(sigma)
    return (sigma_data**2 + sigma**2) / (sigma_data * sigma) ** 2


def denoising_loss(denoised: torch.Tensor, target: torch.Tensor, sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """Mean of ``λ(σ)·‖D − z‖²`` over the batch (eq. 1); ``sigma`` has shape ``(B,)``.

    ``denoised`` and ``target`` are ``(B, d)``. The squared norm is averaged over dimensions
    (a constant rescaling of eq. 1 that keeps the loss magnitude independent of ``d``); with
    the EDM weight the loss of an untrained (zero-output) backbone is about 1.
    """
    per_item = ((denoised - target) ** 2).mean(dim=-1)
    return (loss_weight(sigma, sigma_data).to(per_item.dtype) * per_item).mean()


# ---------------------------------------------------------------------------------------------
# Preconditioned denoiser (eq. 8)
# ---------------------------------------------------------------------------------------------


class EDMPrecond(nn.Module):
    """``D(z̃, σ, q) = c_skip·z̃ + c_out·F(c_in·z̃, c_noise, q)`` around a raw network (eq. 8).

    ``net`` is any module with ``prepare(cond, null=None, cond_mask=None)`` and
    ``forward_prepared(x, noise_cond, prepared)`` (the condition-only work done once), where
    ``x`` is ``(B, d)``, ``noise_cond`` is ``(B,)`` or ``(1,)`` (``c_noise(σ)``), ``cond`` the condition
    (``(B, d_q)`` pooled or ``(B, T, d_q)`` tokens), ``null`` a ``(B,)`` bool tensor marking rows
    whose condition is dropped (classifier-free guidance), and ``cond_mask`` a ``(B, T)`` bool
    tensor of valid tokens. The denoisers of :mod:`genseek.samplers.denoisers` fit.

    Attributes:
        sigma_data: stored as a buffer-free float (also saved in the weights' config).
    """

    def __init__(self, net: nn.Module, sigma_data: float) -> None:
        super().__init__()
        if not (sigma_data > 0 and math.isfinite(sigma_data)):
            raise ValueError(f"sigma_data must be a positive finite number, got {sigma_data!r}")
        self.net = net
        self.sigma_data = float(sigma_data)

    def forward(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor | float,
        cond: torch.Tensor,
        null: torch.Tensor | None = None,
        cond_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Denoised estimate of ``x`` (``(B, d)``) at noise level ``sigma`` (``(B,)``, ``(1,)`` or scalar, > 0)."""
        return self.forward_prepared(x, sigma, self.net.prepare(cond, null=null, cond_mask=cond_mask))

    def prepare(self, cond: torch.Tensor, *, null: torch.Tensor | None = None, cond_mask: torch.Tensor | None = None):
        """The backbone's condition-only precomputation (see :mod:`genseek.samplers.denoisers`)."""
        return self.net.prepare(cond, null=null, cond_mask=cond_mask)

    def forward_prepared(self, x: torch.Tensor, sigma: torch.Tensor | float, prepared) -> torch.Tensor:
        """Eq. 8 with a condition prepared once by :meth:`prepare`; a shared ``sigma`` is computed once."""
        sigma = _as_tensor(sigma, like=x).to(x.dtype).reshape(-1)
        s = sigma[:, None]
        f = self.net.forward_prepared(c_in(s, self.sigma_data) * x, c_noise(sigma), prepared)
        return c_skip(s, self.sigma_data) * x + c_out(s, self.sigma_data) * f


def regression_predict(
    model: EDMPrecond,
    cond: torch.Tensor,
    *,
    sigma_max: float = SIGMA_MAX,
    null: torch.Tensor | None = None,
    cond_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The regression baseline's prediction: the same preconditioned backbone at ``z̃ = 0``, ``σ = σ(1)``.

    Diff4Steer's regression baseline is "the same backbone trained deterministically". genseek
    fixes the convention so that one weights format serves both: the regression model is
    ``D(0, σ_data·σ_max, q)`` and is trained with the plain loss ``‖D(0, σ(1), q) − z‖²``. The
    output is ``c_out(σ(1))·F(0, c_noise(σ(1)), q)`` — one forward pass, no noise.
    """
    batch = cond.shape[0]
    dim = model.net.config.target_dim
    x = torch.zeros(batch, dim, dtype=cond.dtype, device=cond.device)
    sigma = torch.full((1,), model.sigma_data * sigma_max, dtype=cond.dtype, device=cond.device)
    return model(x, sigma, cond, null=null, cond_mask=cond_mask)


__all__ = [
    "ALPHA_MAX",
    "regression_predict",
    "EDMPrecond",
    "RHO",
    "SIGMA_MAX",
    "SIGMA_MIN",
    "TangentSchedule",
    "c_in",
    "c_noise",
    "c_out",
    "c_skip",
    "denoising_loss",
    "sample_training_sigmas_lognormal",
    "karras_sigmas",
    "loss_weight",
    "sample_training_sigmas",
]
