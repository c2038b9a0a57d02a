"""Deterministic Heun (2nd order) for the probability-flow ODE — Karras et al. 2022, Algorithm 1.

ODE: ``dz/dσ = (z − D(z, σ))/σ``. Each step takes an Euler step to ``σ_{i+1}`` and corrects it
with the slope there (trapezoidal rule); the final step to σ = 0 is a plain Euler step, which lands
exactly on ``D(z, σ_{N−1})``. ``2N − 1`` network evaluations for ``N`` steps.
"""

from __future__ import annotations

import torch

from .noise import Denoise, GeneratorLike, sigma_at


def sample_heun(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *, generator: GeneratorLike | None = None) -> torch.Tensor:
    """Solve the PF ODE over ``sigmas`` (``generator`` is accepted and unused: deterministic)."""
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        slope = (x - denoise(x, sigma_at(sigmas, i, x))) / sigma
        x_euler = x + (sigma_next - sigma) * slope
        if sigma_next == 0.0:
            x = x_euler
            continue
        slope_next = (x_euler - denoise(x_euler, sigma_at(sigmas, i + 1, x))) / sigma_next
        x = x + (sigma_next - sigma) * 0.5 * (slope + slope_next)
    return x
