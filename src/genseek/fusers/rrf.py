"""Reciprocal rank fusion (Cormack et al., 2009), with Qdrant's weighted form.

A point at zero-based rank ``r`` in seed ``i``'s list earns ``1 / ((r + 1) / w_i + k - 1)``;
for ``w_i = 1`` this is ``1 / (k + r)``, exactly what Qdrant computes for ``Rrf(k, weights)``,
so the engine and client paths agree. A seed with ``w_i <= 0`` contributes nothing.

An anchored search's anchor (:mod:`genseek.anchor`) is one more list with the anchor weight: the
weights are then not uniform, so the engine runs it as weighted RRF when the backend supports it
(``Capabilities.weighted_rrf``) and the client fuses it otherwise.
"""

from __future__ import annotations

from qdrant_client.http import models

from ..errors import ConfigError
from ..contract import QDRANT_DEFAULT_RRF_K
from .base import Capabilities, EngineFusion, FusionContext, Fuser, Rrf, ranked_by_score



class RRFFuser(Fuser):
    """Reciprocal rank fusion.

    Args:
        k: the rank constant (Qdrant's default is 2; larger flattens the contribution of top ranks).
    """

    id = "rrf"
    description = "reciprocal rank fusion with rank constant k and per-seed weights"

    def __init__(self, k: int = QDRANT_DEFAULT_RRF_K) -> None:
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"fuser 'rrf': k must be an integer >= 1, got {k!r}")
        self.k = k

    def engine_fusion(self, ctx: FusionContext, caps: Capabilities) -> EngineFusion | None:
        if not caps.prefetch:
            return None
        if not ctx.uniform_weights:
            if not caps.weighted_rrf:
                return None
            return Rrf(k=self.k, weights=tuple(float(w) for w in ctx.weights))
        if self.k != QDRANT_DEFAULT_RRF_K and not caps.rrf_k:
            return None
        return Rrf(k=self.k, weights=None)

    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        uniform = ctx.uniform_weights
        scores: dict = {}
        points: dict = {}
        for seed_index, ranked in enumerate(per_seed):
            weight = 1.0 if uniform else float(ctx.weights[seed_index])
            for rank, point in enumerate(ranked):
                contribution = 0.0 if weight <= 0 else 1.0 / ((rank + 1.0) / weight + self.k - 1.0)
                points.setdefault(point.id, point)
                scores[point.id] = scores.get(point.id, 0.0) + contribution
        return ranked_by_score(scores, points, ctx.limit)
