"""Search results: ordinary Qdrant points, each tagged with the seeds that found it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from qdrant_client.http import models


class SeedHit(BaseModel):
    """One seed's view of a returned point: the seed index, its 0-based rank and raw score there.

    ``anchor`` is True when that seed is the anchor (the query's direct vector) of an anchored search.
    """

    model_config = ConfigDict(frozen=True)

    seed: int
    rank: int
    score: float
    anchor: bool = False


class GenerativePoint(models.ScoredPoint):
    """A :class:`qdrant_client.models.ScoredPoint` plus provenance.

    ``score`` is the fused score; ``found_by`` lists the seeds whose ranked list (of the
    per-seed depth) contained this point, best rank first. An empty list means the point came
    from the engine's fused query only (e.g. ``centroid``) and no seed ranked it that deep.
    """

    found_by: list[SeedHit] = []

    @property
    def seeds(self) -> list[int]:
        """Indices of the seeds that found this point (the anchor's row index included)."""
        return [hit.seed for hit in self.found_by]

    @property
    def found_by_anchor(self) -> bool:
        """True when the anchor's list (of the per-seed depth) contained this point."""
        return any(hit.anchor for hit in self.found_by)


@dataclass(frozen=True)
class SearchResult:
    """The outcome of one generative search.

    Attributes:
        points: fused results, best first (``GenerativePoint``, i.e. Qdrant ``ScoredPoint`` + provenance).
        seeds: ``(n, d)`` seed vectors that were searched; for an anchored search the last row is
            the anchor.
        seed_weights: ``(n,)`` per-seed weights used for fusion (the anchor's weight included).
        by_seed: for each searched row (the anchor included), the returned points it found, in
            that row's rank order — the "facets" of an ambiguous query.
        seed_labels: optional per-seed descriptions from the sampler (the anchor's is ``"anchor"``).
        fusion: where fusion ran: ``"engine"`` or ``"client"``, and the fuser id.
        info: diagnostics (sampler info, timings in ms; ``info["anchor"]`` — the anchor's weight
            and source, ``"encoder"`` or ``"vector"`` — when the search was anchored).
        anchor_index: index of the anchor's row in ``seeds`` (``None`` when not anchored).
    """

    points: list[GenerativePoint]
    seeds: np.ndarray
    seed_weights: np.ndarray
    by_seed: list[list[GenerativePoint]]
    seed_labels: tuple[str, ...] | None = None
    fusion: tuple[str, str] = ("client", "")
    info: dict[str, Any] = field(default_factory=dict)
    anchor_index: int | None = None

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self):
        return iter(self.points)

    @property
    def ids(self) -> list[Any]:
        return [p.id for p in self.points]

    @property
    def generated_seeds(self) -> np.ndarray:
        """The ``(n, d)`` seed rows the sampler produced, i.e. :attr:`seeds` without the anchor."""
        if self.anchor_index is None:
            return self.seeds
        return np.delete(self.seeds, self.anchor_index, axis=0)


def attach_provenance(
    fused: list[models.ScoredPoint],
    per_seed: list[list[models.ScoredPoint]] | None,
    n_seeds: int,
    anchor_index: int | None = None,
) -> tuple[list[GenerativePoint], list[list[GenerativePoint]]]:
    """Tag fused points with the seeds that found them and group them by seed.

    Hits of row ``anchor_index`` (the anchor of an anchored search) are marked ``anchor=True``.
    """
    positions: dict[Any, list[SeedHit]] = {}
    for seed_index, ranked in enumerate(per_seed or []):
        is_anchor = seed_index == anchor_index
        for rank, point in enumerate(ranked):
            hit = SeedHit(seed=seed_index, rank=rank, score=float(point.score), anchor=is_anchor)
            positions.setdefault(point.id, []).append(hit)
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
