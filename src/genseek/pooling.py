"""Pooled candidate search: every seed scored exactly against the candidates that all walks found.

A generated seed is not a catalog point. HNSW's greedy walk is weakest for such queries, and a
multi-seed search runs one walk per seed, each cut at the per-seed depth: the walks miss part of
each seed's true top list, and the fused ranking inherits every miss. Most seeds of one query
point at the same neighbourhood, where the other seeds' walks (and one wider walk for the group)
find what a seed's own walk missed. So genseek plans a multi-seed search that it fuses on the
client (the default: provenance on, ``fusion="auto"``, a fuser that runs on the client; or
``fusion="client"``) in two requests:

1. **group** the seeds (cosine collections): each seed joins the first group whose running mean
   it matches with cosine similarity ≥ :data:`POOL_SIMILARITY`, else starts one; under other
   distances every seed is its own group;
2. **walk** — one request: each seed's own walk (``depth`` candidates, the per-seed list depth)
   and, for every group of several seeds, one walk for the group's normalised mean of
   ``min(MAX_POOL, depth × group size)`` candidates; ids only. Qdrant's HNSW breadth is
   ``max(hnsw_ef, limit)`` with ``hnsw_ef`` defaulting to the index's ``ef_construct``, so the
   wider walk also searches wider (unless the request sets ``hnsw_ef``);
3. **rescore** — one request scoring every seed exactly (``exact=True``) against the union of the
   walks' ids (the caller's filter AND the tenant condition AND ``has_id(union)``, so scoping is
   unchanged): each seed's top ``depth`` of the union, with payloads, is what the fuser fuses and
   what provenance reports. A seed's own walk is part of the union, so its list is never worse
   than without pooling.

``search_params={"seed_pooling": "shared"}`` drops the per-seed walks of grouped seeds (one walk
per group: cheaper, but a group's walk can miss part of a member's list that the member's own
walk would have found); ``False`` gives one walk per seed and no rescoring. Both passes are
ordinary :class:`~genseek.adapters.base.SeedSearch` requests that adapters run like any other.
``{"exact": True}`` searches exactly and needs no pooling. A one-seed (plain) search is never
pooled, nor is a search on a backend that scans exactly (qdrant-client local mode:
``Capabilities.approximate`` is false), nor one fused in the engine (``provenance=False`` or
``fusion="engine"``: one request with a prefetch per seed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from qdrant_client.http import models

from .adapters.base import SeedSearch, SeedSearchResponse
from .vectors import l2_normalize

#: ``search_params`` key: ``True`` (default: own and group walks), ``"shared"`` (group walks only) or ``False``.
POOLING_KEY = "seed_pooling"
#: Cosine similarity to a group's running mean at or above which a seed joins that group.
POOL_SIMILARITY = 0.5
#: Most candidates one pooled walk fetches.
MAX_POOL = 1000


def group_seeds(seeds: np.ndarray, distance: str, threshold: float = POOL_SIMILARITY) -> list[list[int]]:
    """Seed indices grouped by direction (see the module docstring); singletons unless ``distance`` is cosine."""
    return _grouped(seeds, distance, threshold)[0]


def _grouped(seeds: np.ndarray, distance: str, threshold: float) -> tuple[list[list[int]], list[np.ndarray]]:
    """The groups and, per group, the sum of its members' unit vectors (its direction)."""
    if distance != "cosine":
        return [[i] for i in range(len(seeds))], list(seeds)
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    for i, row in enumerate(l2_normalize(seeds)):
        for g, total in enumerate(sums):
            if float(row @ total) >= threshold * float(np.linalg.norm(total)):
                groups[g].append(i)
                sums[g] = total + row
                break
        else:
            groups.append([i])
            sums.append(row.copy())
    return groups, sums


@dataclass(frozen=True)
class PoolPlan:
    """A pooled search: ``final`` is the per-seed request of the rescoring pass, before its id condition.

    Attributes:
        final: the client-fusion request (every seed, ``depth`` candidates, payloads as asked).
        walks: the walk vectors of the first pass, ``(w, d)``.
        depths: candidates of each walk.
        groups: the seed groups (seed indices).
    """

    final: SeedSearch
    walks: np.ndarray
    depths: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]

    @classmethod
    def plan(cls, final: SeedSearch, distance: str, mode: Any = True) -> PoolPlan:
        """Group ``final``'s seeds and choose the walks (see the module docstring for ``mode``)."""
        seeds, depth = final.seeds, final.candidates
        groups, directions = _grouped(seeds, distance, POOL_SIMILARITY)
        rows: list[np.ndarray] = []
        depths: list[int] = []
        for members, direction in zip(groups, directions):
            if len(members) > 1:
                rows.append(l2_normalize(direction))
                depths.append(min(MAX_POOL, depth * len(members)))
            if len(members) == 1 or mode != "shared":
                rows.extend(seeds[i] for i in members)
                depths.extend(depth for _ in members)
        return cls(final, np.asarray(rows, np.float32), tuple(depths), tuple(tuple(g) for g in groups))

    def first(self) -> SeedSearch:
        """The walking pass: every walk with its own depth, ids only."""
        return replace(
            self.final,
            seeds=self.walks,
            candidates=max(self.depths),
            seed_candidates=self.depths,
            per_seed_payload=False,
            per_seed_vectors=False,
            score_threshold=None,
        )

    def second(self, walked: SeedSearchResponse) -> SeedSearch | None:
        """The rescoring pass over the walked ids (``None``: the walks found nothing)."""
        union = list(dict.fromkeys(p.id for ranked in walked.per_seed or [] for p in ranked))
        if not union:
            return None
        ids: list[Any] = [models.HasIdCondition(has_id=union)]
        scope = models.Filter(must=ids + ([self.final.filter] if self.final.filter is not None else []))
        params = {k: v for k, v in self.final.params.items() if k != "hnsw_ef"}
        return replace(self.final, filter=scope, params={**params, "exact": True})

    def describe(self, walked: SeedSearchResponse | None) -> dict[str, Any]:
        """What ``result.info["pooling"]`` reports: walks, groups and the size of the rescored union."""
        union = {p.id for ranked in (walked.per_seed or [] if walked else []) for p in ranked}
        return {"walks": len(self.depths), "groups": len(self.groups), "union": len(union)}


def empty_response(seeds: int) -> SeedSearchResponse:
    """The response of a rescoring pass that had nothing to rescore."""
    return SeedSearchResponse(fused=None, per_seed=[[] for _ in range(seeds)])


__all__ = ["MAX_POOL", "POOLING_KEY", "POOL_SIMILARITY", "PoolPlan", "empty_response", "group_seeds"]
