"""Distribution-based score fusion (Qdrant's ``Fusion.DBSF``).

Each seed's scores are mapped to ``(s - (μ - 3σ)) / 6σ`` using that list's mean ``μ`` and sample
standard deviation ``σ`` (a single-point or constant list maps to 0.5), then summed per point —
weighted by the seed weights when they are not uniform (client-side only: Qdrant's DBSF has no
weights). Euclid / manhattan scores are distances, so they are negated first (closer scores
higher); such collections fuse on the client, where that is guaranteed.

An anchored search's anchor (:mod:`genseek.anchor`) is one more list whose normalised scores are
multiplied by the anchor weight; unless that equals the seeds' weight, it fuses on the client.
"""

from __future__ import annotations

import numpy as np
from qdrant_client.http import models

from .base import DISTANCE_SCORES, Capabilities, Dbsf, EngineFusion, FusionContext, Fuser, ranked_by_score, score_similarity


def normalized_scores(ranked: list[models.ScoredPoint], distance: str = "cosine") -> list[float]:
    """DBSF normalisation of one ranked list's scores (see the module docstring)."""
    scores = np.array([score_similarity(p.score, distance) for p in ranked], dtype=np.float64)
    if len(scores) == 1:
        return [0.5]
    mean = scores.mean()
    std = float(np.sqrt(((scores - mean) ** 2).sum() / (len(scores) - 1)))
    if std == 0:
        return [0.5] * len(scores)
    low = mean - 3 * std
    return list((scores - low) / (6 * std))


class DBSFFuser(Fuser):
    id = "dbsf"
    description = "distribution-based score fusion (per-seed scores normalised by mean ± 3σ, summed)"

    def engine_fusion(self, ctx: FusionContext, caps: Capabilities) -> EngineFusion | None:
        if caps.prefetch and caps.dbsf and ctx.uniform_weights and ctx.distance not in DISTANCE_SCORES:
            return Dbsf()
        return None

    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        uniform = ctx.uniform_weights
        scores: dict = {}
        points: dict = {}
        for seed_index, ranked in enumerate(per_seed):
            if not ranked:
                continue
            weight = 1.0 if uniform else float(ctx.weights[seed_index])
            for point, value in zip(ranked, normalized_scores(ranked, ctx.distance)):
                points.setdefault(point.id, point)
                scores[point.id] = scores.get(point.id, 0.0) + weight * value
        return ranked_by_score(scores, points, ctx.limit)
