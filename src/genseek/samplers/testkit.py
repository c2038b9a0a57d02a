"""Small priors for tests: a randomly initialised network and an exact Gaussian-mixture prior.

Both return :class:`~genseek.samplers.weights.PriorWeights`, so they plug into the ``diffusion``
and ``regression`` samplers like trained weights (``DiffusionSampler(tiny_prior())``). Used by
genseek's own tests; useful for applications and plugin authors who need a prior without training.
"""

from __future__ import annotations

import numpy as np
import torch

from .analytic import GaussianMixtureDenoiser
from .denoisers import DenoiserConfig
from .weights import NormalizationConfig, PriorConfig, PriorWeights


def tiny_prior(
    architecture: str = "film_mlp",
    *,
    target_dim: int = 32,
    query_dim: int = 16,
    width: int = 48,
    depth: int = 2,
    kind: str = "diffusion",
    seed: int = 0,
    **config,
) -> PriorWeights:
    """A small untrained prior whose (normally zero-initialised) output head is random, so ``F ≠ 0``.

    Extra keyword arguments go to :class:`PriorConfig` (e.g. ``query_encoder="hashing"``).
    Deterministic for a given ``seed``; does not touch torch's global RNG state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        denoiser = DenoiserConfig(
            architecture=architecture, target_dim=target_dim, query_dim=query_dim, width=width, depth=depth, heads=4
        )
        weights = PriorWeights.create(PriorConfig(denoiser=denoiser, sigma_data=0.18, kind=kind, **config))
        torch.nn.init.normal_(weights.model.net.out_proj.weight, std=0.2)
        torch.nn.init.normal_(weights.model.net.out_proj.bias, std=0.05)
    weights.model.eval()
    return weights


def mixture_prior(means, variances, weights=None) -> tuple[PriorWeights, GaussianMixtureDenoiser]:
    """PriorWeights around an exact Gaussian-mixture denoiser (seeds are not projected to the sphere).

    The condition of such a prior is a ``(K,)`` vector of component weights.
    """
    model = GaussianMixtureDenoiser(torch.as_tensor(np.asarray(means, np.float32)), torch.as_tensor(np.asarray(variances, np.float32)), weights)
    k, d = model.means.shape
    config = PriorConfig(
        denoiser=DenoiserConfig(target_dim=d, query_dim=k),
        sigma_data=model.sigma_data,
        normalization=NormalizationConfig(target_l2=False),
    )
    return PriorWeights(config=config, model=model), model


__all__ = ["mixture_prior", "tiny_prior"]
