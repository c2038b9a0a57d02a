"""Round-robin fusion: interleave the per-seed lists so that every seed contributes.

Position ``j`` of the fused list takes the next not-yet-taken point of seed ``j mod n`` (seeds in
order of decreasing weight), which guarantees each reading of an ambiguous query — each facet —
a share of the first results. The fused score is ``1 / (position + 1)``; the point's similarity to
its seed stays available in the provenance. Client-side only: Qdrant has no such fusion.

Weights only set the order of the lists (a list of weight 0 is skipped). An anchored search's anchor
(:mod:`genseek.anchor`) weighted above the seeds is therefore visited first: it takes the first slot
of every round, so the fused list starts with plain search's best hit.
"""

from __future__ import annotations

import numpy as np
from qdrant_client.http import models

from .base import FusionContext, Fuser, rescored


class RoundRobinFuser(Fuser):
    id = "round_robin"
    description = "interleave the per-seed lists so every seed (facet) contributes"

    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        order = [int(i) for i in np.argsort(-ctx.weights, kind="stable") if ctx.weights[i] > 0]
        cursors = {i: 0 for i in order}
        taken: set = set()
        fused: list[models.ScoredPoint] = []
        while len(fused) < ctx.limit and cursors:
            for seed_index in list(cursors):
                ranked = per_seed[seed_index]
                cursor = cursors[seed_index]
                while cursor < len(ranked) and ranked[cursor].id in taken:
                    cursor += 1
                if cursor >= len(ranked):
                    del cursors[seed_index]
                    continue
                point = ranked[cursor]
                cursors[seed_index] = cursor + 1
                taken.add(point.id)
                fused.append(rescored(point, 1.0 / (len(fused) + 1)))
                if len(fused) >= ctx.limit:
                    break
        return fused
