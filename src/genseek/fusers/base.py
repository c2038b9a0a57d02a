"""The fuser contract: combine the ranked lists found by each seed into one ranking.

A fuser can run in two places, and both must give the same ranking on the same data:

* **in the engine** — :meth:`Fuser.engine_fusion` describes the fusion as one of the typed
  records of :mod:`genseek.contract` (:class:`Rrf`, :class:`Dbsf`, :class:`Mmr`, :class:`Max`,
  or :class:`Centroid`, a single query), every field set; the adapter translates it into one
  Qdrant request with a ``Prefetch`` per seed. It returns ``None`` when the backend's
  :class:`~genseek.contract.Capabilities` cannot express it;
* **on the client** — :meth:`Fuser.fuse` combines the per-seed lists returned by one batched
  request.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np
from qdrant_client.http import models

from ..contract import Capabilities, Centroid, Dbsf, EngineFusion, FusionContext, Max, Mmr, Nearest, Rrf

class Fuser(abc.ABC):
    """Base class of all fusers.

    ``client_side`` is False for fusers that are only defined as an engine query (``centroid``);
    ``needs_vectors`` is True when :meth:`fuse` needs the candidates' vectors (``mmr``).

    Contract of :meth:`fuse`: ``per_seed[i]`` is seed ``i``'s ranked list (best first, scores as
    returned by Qdrant); returns at most ``ctx.limit`` new :class:`~qdrant_client.models.ScoredPoint`
    objects, best first, whose ``score`` is the fused score. Inputs are not modified.
    """

    id: ClassVar[str]
    description: ClassVar[str] = ""
    client_side: ClassVar[bool] = True
    needs_vectors: ClassVar[bool] = False

    def engine_fusion(self, ctx: FusionContext, caps: Capabilities) -> EngineFusion | None:
        """Return the in-engine form of this fusion, or ``None`` when ``caps`` cannot run it."""
        return None

    @abc.abstractmethod
    def fuse(self, per_seed: list[list[models.ScoredPoint]], ctx: FusionContext) -> list[models.ScoredPoint]:
        """Fuse per-seed lists on the client (see the class docstring)."""


#: Distances whose Qdrant scores are distances (lower is closer), not similarities.
DISTANCE_SCORES = frozenset({"euclid", "manhattan"})


def score_similarity(score: float, distance: str) -> float:
    """A Qdrant score as a similarity, higher is closer (euclid / manhattan scores are distances)."""
    return -float(score) if distance in DISTANCE_SCORES else float(score)


def rescored(point: models.ScoredPoint, score: float) -> models.ScoredPoint:
    """A copy of ``point`` carrying ``score``; the input is left untouched."""
    return point.model_copy(update={"score": float(score)})


def ranked_by_score(scores: dict, points: dict, limit: int) -> list[models.ScoredPoint]:
    """Sort ids by score, highest first, ties kept in first-seen order (as Qdrant's local mode does)."""
    order = sorted(scores, key=lambda pid: scores[pid], reverse=True)[:limit]
    return [rescored(points[pid], scores[pid]) for pid in order]


def weighted_centroid(ctx: FusionContext) -> np.ndarray:
    """The weighted mean of the seeds, L2-normalised for cosine collections."""
    total = float(ctx.weights.sum())
    weights = ctx.weights / total if total > 0 else np.full(len(ctx.weights), 1.0 / len(ctx.weights))
    centroid = (weights[:, None] * ctx.seeds).sum(axis=0).astype(np.float32)
    if ctx.distance == "cosine":
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            centroid = centroid / norm
    return centroid


__all__ = ["DISTANCE_SCORES", "Capabilities", "Centroid", "Dbsf", "EngineFusion", "FusionContext", "Fuser", "Max", "Mmr", "Nearest", "Rrf", "ranked_by_score", "rescored", "score_similarity", "weighted_centroid"]
