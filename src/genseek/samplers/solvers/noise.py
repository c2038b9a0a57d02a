"""Shared types and the per-row Gaussian noise helper of the solvers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

#: ``denoise(x, sigma) -> D(x, σ)``; ``x`` is ``(B, d)``, ``sigma`` a ``(1,)`` tensor.
Denoise = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
GeneratorLike = torch.Generator | Sequence[torch.Generator]


def randn_rows(shape: tuple[int, int], generator: GeneratorLike, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Standard normal ``(B, d)`` noise; with several generators, each fills ``B / len`` consecutive rows.

    Noise is drawn in float32 (then cast), so a seed gives the same draws whatever the compute dtype.
    """
    if isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator, dtype=torch.float32, device=device).to(dtype)
    generators = list(generator)
    rows, dim = shape
    if not generators or rows % len(generators):
        raise ValueError(f"{rows} rows cannot be split evenly among {len(generators)} generators")
    per = rows // len(generators)
    parts = [torch.randn((per, dim), generator=g, dtype=torch.float32, device=device) for g in generators]
    return torch.cat(parts).to(dtype)


def sigma_at(sigmas: torch.Tensor, i: int, like: torch.Tensor) -> torch.Tensor:
    """``sigmas[i]`` as a ``(1,)`` tensor of ``like``'s dtype and device."""
    return sigmas[i : i + 1].to(dtype=like.dtype, device=like.device)
