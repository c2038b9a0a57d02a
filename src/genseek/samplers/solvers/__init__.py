"""Solvers for the prior's reverse process, one algorithm per file (k-diffusion style).

All share one signature::

    sample_<name>(denoise, x, sigmas, *, generator) -> x0

* ``denoise(x, sigma)`` returns the (guided) denoised estimate ``D(x, σ)`` for a ``(B, d)`` batch
  and a ``(1,)`` noise level shared by the batch; it is called once per network evaluation
  (all seeds and both guidance branches go through the network together inside it);
* ``x`` is the starting point at noise level ``sigmas[0]`` (``σ_0·ε`` for sampling);
* ``sigmas`` is a decreasing float64 grid ending in 0 (:func:`genseek.samplers.edm.karras_sigmas`);
* ``generator`` is a :class:`torch.Generator`, or a sequence of them that split the batch rows
  evenly (one per query, so a batch of queries reproduces each query's own draws). Deterministic
  solvers accept and ignore it, so every solver is called the same way.

:data:`SOLVERS` maps the public solver names to these functions; :data:`NFE` gives the number of
network evaluations a grid of ``steps`` costs.
"""

from __future__ import annotations

from collections.abc import Callable

from .ddim import ddim_invert, sample_ddim
from .dpmpp_2m import sample_dpmpp_2m
from .euler_maruyama import sample_euler_maruyama
from .heun import sample_heun
from .noise import Denoise, GeneratorLike, randn_rows

SOLVERS: dict[str, Callable[..., object]] = {
    "euler_maruyama": sample_euler_maruyama,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
    "ddim": sample_ddim,
}

#: Network evaluations for a grid of ``steps`` steps (Heun's last step is a single Euler step).
NFE: dict[str, Callable[[int], int]] = {
    "euler_maruyama": lambda steps: steps,
    "heun": lambda steps: max(1, 2 * steps - 1),
    "dpmpp_2m": lambda steps: steps,
    "ddim": lambda steps: steps,
}

__all__ = [
    "Denoise",
    "GeneratorLike",
    "NFE",
    "SOLVERS",
    "ddim_invert",
    "randn_rows",
    "sample_ddim",
    "sample_dpmpp_2m",
    "sample_euler_maruyama",
    "sample_heun",
]
