"""Maximal marginal relevance over the seeds' candidates (Carbonell & Goldstein, 1998).

Candidates are the union of the per-seed lists; relevance is the similarity to the seeds'
weighted centroid; each step picks ``argmax λ·rel(d) − (1−λ)·max_{s∈selected} sim(d, s)`` with
``λ = 1 − diversity``. In the engine this is ``NearestQuery(centroid, mmr=Mmr(...))`` over one
prefetch per seed (Qdrant ≥ 1.15). The client path reproduces Qdrant's choices exactly,
including its tie-breaking (the last maximum wins; the chosen candidate is swap-removed).

An anchored search's anchor (:mod:`genseek.anchor`) adds its list to the candidates and enters the
weighted centroid with the anchor weight, pulling relevance toward the query's direct embedding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qdrant_client.http import models

from ..errors import ConfigError
from .base import Capabilities, EngineFusion, FusionContext, Fuser, Mmr, rescored, weighted_centroid


def similarity(query: np.ndarray, vectors: np.ndarray, distance: str) -> np.ndarray:
    """Qdrant's internal similarity (higher is closer) between ``query`` and each row of ``vectors``."""
    query = query.astype(np.float32)
    vectors = vectors.astype(np.float32)
    if distance == "euclid":
        return -np.square(vectors - query).sum(axis=1)
    if distance == "manhattan":
        return -np.abs(vectors - query).sum(axis=1)
    if distance == "cosine":
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors @ query


def _last_argmax(values: list[float]) -> int:
    best = max(values)
    return max(i for i, v in enumerate(values) if v == best)


def _swap_remove(items: list[int], index: int) -> int:
    items[index], items[-1] = items[-1], items[index]
    return items.pop()


class MMRFuser(Fuser):
    """Diversity-aware fusion.

    Args:
        diversity: ``1 − λ`` in [0, 1]; 0 ranks by relevance only, 1 by novelty only.
        candidates: how many of the nearest candidates MMR re-ranks (default: the prefetch depth).
    """

    id = "mmr"
    description = "maximal marginal relevance around the seeds' centroid (diversity-aware)"
    needs_vectors = True

    def __init__(self, diversity: float = 0.5, candidates: int | None = None) -> None:
        if not 0.0 <= float(diversity) <= 1.0:
            raise ConfigError(f"fuser 'mmr': diversity must be in [0, 1], got {diversity!r}")
        if candidates is not None and candidates < 1:
            raise ConfigError(f"fuser 'mmr': candidates must be >= 1, got {candidates!r}")
        self.diversity = float(diversity)
        self.candidates = candidates

    def _candidate_limit(self, ctx: FusionContext) -> int:
        return self.candidates or max(ctx.candidates, ctx.limit)

    def engine_fusion(self, ctx: FusionContext, caps: Capabilities) -> EngineFusion | None:
        if not (caps.prefetch and caps.mmr):
            return None
        return Mmr(vector=weighted_centroid(ctx), diversity=self.diversity, candidates=self._candidate_limit(ctx))

    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        pool: dict[Any, models.ScoredPoint] = {}
        for ranked in per_seed:
            for point in ranked:
                pool.setdefault(point.id, point)
        if not pool:
            return []
        ids = list(pool)
        vectors = np.stack([_vector_of(pool[pid]) for pid in ids])
        query = weighted_centroid(ctx)
        relevance = similarity(query, vectors, ctx.distance)
        # The engine first takes the `candidates` nearest to the query (ties: lower id first is not
        # guaranteed, so use a stable order on relevance), then re-ranks them with MMR.
        keep = np.argsort(-relevance, kind="stable")[: self._candidate_limit(ctx)]
        ids = [ids[i] for i in keep]
        vectors = vectors[keep]
        relevance = relevance[keep]
        pairwise = np.stack([similarity(v, vectors, ctx.distance) for v in vectors])
        lam = 1.0 - self.diversity
        pending = list(range(len(ids)))
        selected = [_swap_remove(pending, _last_argmax([float(relevance[i]) for i in pending]))]
        while len(selected) < ctx.limit and pending:
            scores = [lam * float(relevance[p]) - (1 - lam) * float(pairwise[p, selected].max()) for p in pending]
            selected.append(_swap_remove(pending, _last_argmax(scores)))
        return [rescored(pool[ids[i]], float(relevance[i])) for i in selected]


def _vector_of(point: models.ScoredPoint) -> np.ndarray:
    vector = point.vector
    if isinstance(vector, dict):
        if len(vector) != 1:
            raise ValueError("mmr fusion expects exactly the searched vector on each candidate")
        vector = next(iter(vector.values()))
    if vector is None:
        raise ValueError("mmr fusion needs candidate vectors; the adapter must return them")
    return np.asarray(vector, dtype=np.float32)
