"""DPM-Solver++(2M): multistep 2nd-order solver in data prediction (Lu et al. 2022, Algorithm 2).

With ``λ = −ln σ`` and ``h_i = λ_{i+1} − λ_i``, the first-order update is
``z ← (σ_{i+1}/σ_i)·z + (1 − σ_{i+1}/σ_i)·D̂``. The multistep correction uses
``D̂ = (1 + 1/(2r))·D_i − 1/(2r)·D_{i−1}`` with ``r = h_{i−1}/h_i``. The first step has no history
and the final step (to σ = 0) is first order (``z = D_{N−1}``), which is what keeps few-step
sampling stable. One network evaluation per step.
"""

from __future__ import annotations

import math

import torch

from .noise import Denoise, GeneratorLike, sigma_at


def sample_dpmpp_2m(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *, generator: GeneratorLike | None = None) -> torch.Tensor:
    """Solve the PF ODE over ``sigmas`` (``generator`` is accepted and unused: deterministic)."""
    previous: torch.Tensor | None = None
    h_previous = 0.0
    steps = len(sigmas) - 1
    for i in range(steps):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        denoised = denoise(x, sigma_at(sigmas, i, x))
        if sigma_next == 0.0:
            return denoised
        h = math.log(sigma / sigma_next)
        estimate = denoised
        if previous is not None and i < steps - 1:
            r = h_previous / h
            estimate = (1.0 + 1.0 / (2.0 * r)) * denoised - (1.0 / (2.0 * r)) * previous
        ratio = sigma_next / sigma
        x = ratio * x + (1.0 - ratio) * estimate
        previous, h_previous = denoised, h
    return x
