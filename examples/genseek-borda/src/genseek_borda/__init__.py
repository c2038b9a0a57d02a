"""An example genseek plugin: Borda-count fusion.

Each seed's list awards ``candidates - rank`` points to the point at 0-based ``rank``, weighted
by the seed's weight; points are ranked by their total. It only runs on the client — Qdrant has
no Borda fusion — so ``engine_fusion`` keeps the base class's ``None``.
"""

from __future__ import annotations

from qdrant_client.http import models

from genseek.api import FusionContext, Fuser, hookimpl, ranked_by_score


class BordaFuser(Fuser):
    id = "borda"
    description = "Borda count over the per-seed lists (example plugin)"

    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        scores: dict = {}
        points: dict = {}
        for seed_index, ranked in enumerate(per_seed):
            weight = float(ctx.weights[seed_index])
            for rank, point in enumerate(ranked):
                points.setdefault(point.id, point)
                scores[point.id] = scores.get(point.id, 0.0) + weight * (ctx.candidates - rank)
        return ranked_by_score(scores, points, ctx.limit)


@hookimpl
def register_fusers(register):
    register(BordaFuser)
