"""Euler–Maruyama for the reverse-time SDE of Diff4Steer eq. 2 (the paper's sampler).

The forward process is the VE SDE ``dz = √(2σ̇σ) dW`` (eq. 7). Its time reversal is
``dz = 2(σ̇/σ)(z − D(z, σ, q)) dt + √(2σ̇σ) dW̄`` from t = 1 to 0 (score
``∇log p = (D − z)/σ²``). Note: eq. 2 as printed has ``(σ̇/σ)z`` in the drift; reversing eq. 7
gives the factor 2 used here (Karras et al. eq. 6 with β = σ̇/σ), and the closed-form Gaussian
test confirms it. The SDE is discretised with σ as the time variable (``σ̇ dt = dσ``,
``2σ̇σ dt = dσ²``), which makes the step independent of the schedule's parametrisation:

    z ← z + 2·(σ_{i+1} − σ_i)/σ_i · (z − D(z, σ_i)) + √(σ_i² − σ_{i+1}²) · ε

The final step (to σ = 0) returns the denoised estimate ``D(z, σ_{N−1})``.
"""

from __future__ import annotations

import torch

from .noise import Denoise, GeneratorLike, randn_rows, sigma_at


def sample_euler_maruyama(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *, generator: GeneratorLike) -> torch.Tensor:
    """Integrate the reverse SDE over the grid ``sigmas`` (decreasing, ending in 0)."""
    steps = len(sigmas) - 1
    for i in range(steps):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        denoised = denoise(x, sigma_at(sigmas, i, x))
        if sigma_next == 0.0:
            return denoised
        x = x + (2.0 * (sigma_next - sigma) / sigma) * (x - denoised)
        noise = randn_rows(tuple(x.shape), generator, dtype=x.dtype, device=x.device)
        x = x + (sigma**2 - sigma_next**2) ** 0.5 * noise
    return x
