"""Diagnostics of a trained prior: does it use its query?

A prior that ignores its condition still produces diverse, realistic-looking seeds: diversity
and FMD cannot tell. :func:`condition_sensitivity` can: it compares how close a query's seeds are
to that query's own relevant items with how close they are to the relevant items of other,
randomly drawn queries. A prior that ignores the condition scores a gap of about 0 and picks its
own query out of ``k`` at chance (``1/k``).

:func:`seed_label_purity` reports how often a seed's nearest catalog item is relevant to the
query (label purity of the seeds' neighbours, when labels give relevance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidRequestError
from ..vectors import as_matrix, l2_normalize

#: How many standard errors above chance the own-query accuracy must be to pass.
PASS_Z = 3.0


def condition_sensitivity(seeds: Any, catalog: Any, relevant: Sequence[Sequence[int]], *, k: int = 10,
                          seed: int = 0) -> dict[str, Any]:
    """How much nearer each query's seeds are to its own relevant items than to other queries'.

    Args:
        seeds: ``(Q, n, d)`` seeds, ``n`` per query.
        catalog: ``(N, d)`` catalog vectors.
        relevant: per query, the catalog indices relevant to it (non-empty).
        k: each query's own items are compared with those of ``k - 1`` other queries drawn at random
            (queries whose relevant items overlap the query's are not drawn).
        seed: seed of those draws.

    Returns:
        ``cosine_gap``: mean over queries of (mean cosine of the seeds to their own relevant items
        − the same to the other queries' items); ``own_of_k``: fraction of queries whose own items
        are nearest the seeds among the ``k``; ``chance``: ``1/k``; ``z``: standard errors of
        ``own_of_k`` above chance; ``passed``: ``z >= 3`` and a positive gap.
    """
    seeds = np.asarray(seeds, np.float32)
    if seeds.ndim != 3:
        raise InvalidRequestError(f"seeds must be (queries, n, d), got shape {seeds.shape}")
    catalog = l2_normalize(as_matrix(catalog, name="catalog", dim=seeds.shape[2]))
    sets = [np.asarray(sorted(set(int(i) for i in r)), np.int64) for r in relevant]
    if len(sets) != len(seeds) or any(len(s) == 0 for s in sets):
        raise InvalidRequestError("give one non-empty list of relevant items per query")
    if len(sets) < k:
        raise InvalidRequestError(f"condition sensitivity needs at least k={k} queries, got {len(sets)}")
    rng = np.random.default_rng(seed)
    # mean over seeds and items of cos(seed, item) = <mean unit seed, mean item>
    pooled = l2_normalize(seeds).mean(axis=1)
    centroids = np.stack([catalog[s].mean(axis=0) for s in sets])
    members = [set(s.tolist()) for s in sets]
    gaps, wins = [], []
    for query in range(len(sets)):
        others: list[int] = []
        for candidate in rng.permutation(len(sets)):
            if candidate != query and not (members[candidate] & members[query]):
                others.append(int(candidate))
                if len(others) == k - 1:
                    break
        if len(others) < k - 1:
            continue
        own = float(pooled[query] @ centroids[query])
        theirs = pooled[query] @ centroids[others].T
        gaps.append(own - float(theirs.mean()))
        wins.append(own > float(theirs.max()))
    if not wins:
        raise InvalidRequestError("no query had k-1 others with disjoint relevant items; lower k")
    chance = 1.0 / k
    accuracy = float(np.mean(wins))
    z = (accuracy - chance) / math.sqrt(chance * (1 - chance) / len(wins))
    gap = float(np.mean(gaps))
    return {"cosine_gap": gap, "own_of_k": accuracy, "k": k, "chance": chance, "z": z, "queries": len(wins),
            "passed": bool(z >= PASS_Z and gap > 0)}


def seed_label_purity(seeds: Any, catalog: Any, relevant: Sequence[Sequence[int]]) -> float:
    """Fraction of seeds whose nearest catalog item (cosine) is relevant to the seed's query."""
    seeds = np.asarray(seeds, np.float32)
    if seeds.ndim != 3 or len(seeds) != len(relevant):
        raise InvalidRequestError("seeds must be (queries, n, d) with one relevant list per query")
    catalog = l2_normalize(as_matrix(catalog, name="catalog", dim=seeds.shape[2]))
    hits = []
    for query_seeds, items in zip(seeds, relevant):
        nearest = np.argmax(l2_normalize(query_seeds) @ catalog.T, axis=1)
        wanted = set(int(i) for i in items)
        hits.extend(int(i) in wanted for i in nearest)
    return float(np.mean(hits))


__all__ = ["PASS_Z", "condition_sensitivity", "seed_label_purity"]
