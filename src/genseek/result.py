"""Search results: ordinary Qdrant points, each tagged with the seeds that found it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from qdrant_client.http import models


class SeedHit(BaseModel):
    """One seed's view of a returned point: the seed index, its 0-based rank and raw score there."""

    model_config = ConfigDict(frozen=True)

    seed: int
    rank: int
    score: float


class GenerativePoint(models.ScoredPoint):
    """A :class:`qdrant_client.models.ScoredPoint` plus provenance.

    ``score`` is the fused score; ``found_by`` lists the seeds whose ranked list (of the
    per-seed depth) contained this point, best rank first. An empty list means the point came
    from the engine's fused query only (e.g. ``centroid``) and no seed ranked it that deep.
    """

    found_by: list[SeedHit] = []

    @property
    def seeds(self) -> list[int]:
        """Indices of the seeds that found this point."""
        return [hit.seed for hit in self.found_by]


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one generative search.

    Attributes:
        points: fused results, best first (``GenerativePoint``, i.e. Qdrant ``ScoredPoint`` + provenance).
        seeds: ``(n, d)`` seed vectors that were searched.
        seed_weights: ``(n,)`` per-seed weights used for fusion.
        by_seed: for each seed, the returned points it found, in that seed's rank order —
            the "facets" of an ambiguous query.
        seed_labels: optional per-seed descriptions from the sampler.
        fusion: where fusion ran: ``"engine"`` or ``"client"``, and the fuser id.
        info: diagnostics (sampler info, timings in ms).
    """

    points: list[GenerativePoint]
    seeds: np.ndarray
    seed_weights: np.ndarray
    by_seed: list[list[GenerativePoint]]
    seed_labels: tuple[str, ...] | None = None
    fusion: tuple[str, str] = ("client", "")
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self):
        return iter(self.points)

    @property
    def ids(self) -> list[Any]:
        return [p.id for p in self.points]


def attach_provenance(
    fused: list[models.ScoredPoint], per_seed: list[list[models.ScoredPoint]] | None, n_seeds: int
) -> tuple[list[GenerativePoint], list[list[GenerativePoint]]]:
    """Tag fused points with the seeds that found them and group them by seed."""
    positions: dict[Any, list[SeedHit]] = {}
    for seed_index, ranked in enumerate(per_seed or []):
        for rank, point in enumerate(ranked):
            positions.setdefault(point.id, []).append(SeedHit(seed=seed_index, rank=rank, score=float(point.score)))
    points = []
    for point in fused:
        hits = sorted(positions.get(point.id, []), key=lambda h: (h.rank, h.seed))
        points.append(GenerativePoint(**dict(point), found_by=hits))
    by_seed: list[list[GenerativePoint]] = [[] for _ in range(n_seeds)]
    for point in points:
        for hit in point.found_by:
            by_seed[hit.seed].append(point)
    for seed_index, group in enumerate(by_seed):
        group.sort(key=lambda p: next(h.rank for h in p.found_by if h.seed == seed_index))
    return points, by_seed
