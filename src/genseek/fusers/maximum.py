"""Max fusion: a point's fused score is its best similarity to any seed.

In the engine this is a ``FormulaQuery`` ``max($score[0], …, $score[n-1])`` where a seed that did
not find the point contributes ``floor`` (below any real score), so it needs Qdrant ≥ 1.14.
Seed weights are not used: the score stays a similarity, comparable across requests. On euclid /
manhattan collections Qdrant's scores are distances, so the best is the smallest: the fused score
is then the negated smallest distance (higher is closer, like every fused score), on the client.

An anchored search's anchor (:mod:`genseek.anchor`) is one more list, and its weight is not used
either: a point's fused score is its best similarity to the anchor or to any seed.
"""

from __future__ import annotations

from qdrant_client.http import models

from .base import DISTANCE_SCORES, Capabilities, EngineFusion, FusionContext, Fuser, Max, ranked_by_score, score_similarity

#: Stand-in score for "this seed did not find the point"; below every cosine/dot/L2 score in practice.
MISSING_SCORE = -1.0e9


class MaxFuser(Fuser):
    id = "max"
    description = "best similarity of each point to any seed"

    def engine_fusion(self, ctx: FusionContext, caps: Capabilities) -> EngineFusion | None:
        if caps.prefetch and caps.formula and ctx.distance not in DISTANCE_SCORES:
            return Max(floor=MISSING_SCORE)
        return None

    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        scores: dict = {}
        points: dict = {}
        for ranked in per_seed:
            for point in ranked:
                points.setdefault(point.id, point)
                scores[point.id] = max(scores.get(point.id, MISSING_SCORE), score_similarity(point.score, ctx.distance))
        return ranked_by_score(scores, points, ctx.limit)
