"""The fuser contract: combine the ranked lists found by each seed into one ranking.

A fuser can run in two places, and both must give the same ranking on the same data:

* **in the engine** — :meth:`Fuser.engine_fusion` describes the fusion (RRF, DBSF, MMR, a formula,
  or a single centroid query) as an adapter-neutral :class:`EngineFusion`; the adapter turns it
  into one Qdrant request with a ``Prefetch`` per seed. It returns ``None`` when the backend's
  :class:`~genseek.adapters.base.Capabilities` cannot express it;
* **on the client** — :meth:`Fuser.fuse` combines the per-seed lists returned by one batched
  request.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from qdrant_client.http import models

if TYPE_CHECKING:
    from ..adapters.base import Capabilities

EngineMethod = Literal["rrf", "dbsf", "mmr", "max", "centroid"]


@dataclass(frozen=True)
class FusionContext:
    """Everything a fuser may need about the request being fused.

    Attributes:
        seeds: ``(n, d)`` seed vectors.
        weights: ``(n,)`` non-negative per-seed weights.
        limit: how many fused points to produce (the caller's ``limit + offset``).
        candidates: per-seed list depth (the prefetch limit).
        distance: the collection vector's distance (``cosine``, ``dot``, ``euclid``, ``manhattan``).
    """

    seeds: np.ndarray
    weights: np.ndarray
    limit: int
    candidates: int
    distance: str = "cosine"

    @property
    def uniform_weights(self) -> bool:
        return bool(np.allclose(self.weights, self.weights[0]))


@dataclass(frozen=True)
class EngineFusion:
    """An adapter-neutral description of a fusion the engine runs in the same request.

    ``method``: ``rrf`` (``rrf_k``, optional ``weights``), ``dbsf``, ``mmr`` (``vector``,
    ``mmr_diversity``, ``mmr_candidates``), ``max`` (a formula: the best ``$score[i]``, missing
    scores default to ``floor``) or ``centroid`` (``vector`` searched alone, no prefetch).
    """

    method: EngineMethod
    rrf_k: int | None = None
    weights: tuple[float, ...] | None = None
    vector: np.ndarray | None = field(default=None, compare=False)
    mmr_diversity: float | None = None
    mmr_candidates: int | None = None
    floor: float | None = None

    @property
    def uses_prefetch(self) -> bool:
        return self.method != "centroid"


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


__all__ = ["DISTANCE_SCORES", "EngineFusion", "FusionContext", "Fuser", "ranked_by_score", "rescored", "score_similarity", "weighted_centroid"]
