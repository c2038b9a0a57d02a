"""Deterministic DDIM-style ODE steps, forward (sampling) and backward (inversion).

For the VE process, DDIM with η = 0 is the exact-in-ε Euler step of the PF ODE:
``z_{next} = D(z, σ) + (σ_next/σ)·(z − D(z, σ))`` — keep the predicted clean vector, rescale the
predicted noise ``ε̂ = (z − D)/σ`` to the next level. :func:`ddim_invert` runs the same step
upward (Song et al. 2021 §4.3; GD-Retriever §4.3): from a clean vector, treated as lying at the
grid's smallest level, to a higher noise level, so that denoising back with the same condition
returns close to the input, and with a new condition gives an edit that stays near it.
"""

from __future__ import annotations

import torch

from .noise import Denoise, GeneratorLike, sigma_at


def sample_ddim(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *, generator: GeneratorLike | None = None) -> torch.Tensor:
    """Denoise along ``sigmas`` (decreasing, ending in 0); deterministic, one evaluation per step."""
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        denoised = denoise(x, sigma_at(sigmas, i, x))
        x = denoised + (sigma_next / sigma) * (x - denoised)
    return x


def ddim_invert(denoise: Denoise, x: torch.Tensor, sigmas: torch.Tensor, *, order: int = 1) -> torch.Tensor:
    """Re-noise ``x`` deterministically up the grid ``sigmas`` (decreasing, ending in 0, as for sampling).

    ``x`` is a clean vector. It is taken to sit at the smallest positive level ``sigmas[-2]``
    (≈1e-4, a negligible offset), then each step ``σ_i → σ_{i−1}`` follows the PF ODE upward:
    ``order=1`` uses the noise predicted at the current level (plain DDIM inversion, inverse of
    :func:`sample_ddim` up to O(h)); ``order=2`` adds Heun's trapezoidal correction (one more
    evaluation per step), the inverse of :func:`~genseek.samplers.solvers.heun.sample_heun` up
    to O(h²). Returns the latent at ``sigmas[0]``.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    positive = [float(s) for s in sigmas if float(s) > 0.0]
    for j in range(len(positive) - 1, 0, -1):
        sigma, sigma_up = positive[j], positive[j - 1]
        level = x.new_tensor([sigma])
        slope = (x - denoise(x, level)) / sigma
        x_euler = x + (sigma_up - sigma) * slope
        if order == 1:
            x = x_euler
            continue
        slope_up = (x_euler - denoise(x_euler, x.new_tensor([sigma_up]))) / sigma_up
        x = x + (sigma_up - sigma) * 0.5 * (slope + slope_up)
    return x
