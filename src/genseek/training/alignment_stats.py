"""Store domain-alignment statistics with trained weights (GD-Retriever §4.1.1).

After training, :func:`attach_alignment` samples seeds for a set of queries (normally the
training or validation queries), measures their mean/covariance (the *source*) and those of the
catalog (the *target*) with :func:`genseek.samplers.alignment.estimate_stats`, and re-saves the
weights with ``alignment.available = true``. Samplers then accept ``align=True`` (CORAL shift of
generated seeds onto the catalog's statistics).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..samplers.alignment import estimate_stats
from ..samplers.weights import from_pretrained
from ..vectors import as_matrix


def attach_alignment(weights_dir: str | Path, catalog: Any, queries: Any, *, n_seeds: int = 4,
                     guidance: float | None = None, shrinkage: float = 0.1, seed: int = 0, max_queries: int = 2000) -> Path:
    """Measure source (generated) and target (catalog) statistics and store them in ``weights_dir``.

    ``catalog``: ``(N, d)`` catalog vectors; ``queries``: ``(Q, d_q)`` queries to generate from
    (at most ``max_queries`` are used). Diffusion priors sample ``n_seeds`` per query; regression
    priors predict one. Returns the weights directory.
    """
    from ..samplers.diffusion import DiffusionSampler
    from ..samplers.regression import RegressionSampler

    weights_dir = Path(weights_dir)
    weights = from_pretrained(weights_dir)
    target = as_matrix(catalog, name="catalog vectors", dim=weights.config.target_dim)
    chosen = np.asarray(queries, np.float32)[:max_queries]
    if weights.config.kind == "diffusion":
        sampler = DiffusionSampler(weights, guidance=guidance)
        parts = []
        for start in range(0, len(chosen), 128):
            batch = list(chosen[start : start + 128])
            out = sampler.sample_many(batch, n_seeds, seeds=[seed * 100_003 + start + i for i in range(len(batch))], align=False)
            parts.append(out.vectors.reshape(-1, out.vectors.shape[-1]))
        generated = np.concatenate(parts)
    else:
        generated = RegressionSampler(weights).predict(list(chosen), align=False)
    source_mean, source_cov = estimate_stats(torch.from_numpy(generated))
    target_mean, target_cov = estimate_stats(torch.from_numpy(target))
    weights = from_pretrained(weights_dir)  # fresh copy (the samplers moved/froze the first one)
    weights.stats.update({"align.source_mean": source_mean, "align.source_cov": source_cov,
                          "align.target_mean": target_mean, "align.target_cov": target_cov})
    weights.config = weights.config.model_copy(update={"alignment": weights.config.alignment.model_copy(update={
        "available": True, "shrinkage": shrinkage, "source_count": int(len(generated)), "target_count": int(len(target))})})
    weights.save_pretrained(weights_dir)
    return weights_dir


__all__ = ["attach_alignment"]
