"""Non-parametric seed generators that a trained prior has to beat.

Both are ordinary :class:`~genseek.samplers.base.Sampler` objects, so the quality benchmark runs
them through :class:`~genseek.search.GenerativeSearch` exactly like a prior:

* :class:`NearestPairsSampler` — the targets of the training pairs whose queries are nearest the
  query (a lookup of the prior's own training data: what a perfect memoriser would generate);
* :class:`FeedbackSampler` — pseudo-relevance feedback: the stored vectors of plain search's top
  results (Rocchio-style query expansion, no training at all).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidRequestError
from ..samplers.base import Sampler, SamplerInfo, SeedSet
from ..vectors import as_matrix, as_vector, l2_normalize
from .pairs import PairSet


class NearestPairsSampler(Sampler):
    """Seeds = the targets of the ``n`` training pairs whose (cosine) queries are nearest.

    Pairs that share a target group (e.g. several queries of one clip) give that target once.
    Deterministic: the generator is not used.
    """

    id: ClassVar[str] = "nearest-pairs"
    description: ClassVar[str] = "targets of the nearest training pairs' queries (non-parametric baseline)"

    def __init__(self, pairs: PairSet, *, query_encoder: str | None = None) -> None:
        if pairs.queries.ndim != 2:
            raise InvalidRequestError("NearestPairsSampler needs pooled (n, d) queries, not token sequences")
        self._queries = l2_normalize(np.asarray(pairs.queries, np.float32))
        self._targets = np.asarray(pairs.targets, np.float32)
        groups = pairs.groups if pairs.groups is not None else np.arange(len(pairs))
        self._groups = np.asarray(groups)
        self._query_encoder = query_encoder

    @property
    def info(self) -> SamplerInfo:
        return SamplerInfo(
            id=self.id, query_dim=self._queries.shape[1], target_dim=self._targets.shape[1],
            query_encoder=self._query_encoder, deterministic=True, description=self.description,
        )

    def sample(self, query: np.ndarray, n: int, *, generator: np.random.Generator, **controls: Any) -> SeedSet:
        self.check_controls(controls)
        q = l2_normalize(as_vector(query, name="query"))
        order = np.argsort(-(self._queries @ q), kind="stable")
        picked: list[int] = []
        seen: set = set()
        for index in order:
            group = self._groups[index].item()
            if group in seen:
                continue
            seen.add(group)
            picked.append(int(index))
            if len(picked) == n:
                break
        return SeedSet(self._targets[picked], labels=tuple(f"pair {i}" for i in picked))


class FeedbackSampler(Sampler):
    """Seeds = the stored vectors of plain search's top ``n`` results for the query.

    ``top_vectors(query, n)`` runs the plain search (e.g. a ``GenerativeSearch`` with the
    ``identity`` sampler and ``with_vectors``) and returns an ``(n, d)`` array.
    """

    id: ClassVar[str] = "feedback"
    description: ClassVar[str] = "pseudo-relevance feedback: vectors of plain search's top results"

    def __init__(self, top_vectors: Callable[[np.ndarray, int], np.ndarray], *, dim: int) -> None:
        self._top_vectors = top_vectors
        self._dim = dim

    @property
    def info(self) -> SamplerInfo:
        return SamplerInfo(id=self.id, query_dim=self._dim, target_dim=self._dim, deterministic=True,
                           description=self.description)

    def sample(self, query: np.ndarray, n: int, *, generator: np.random.Generator, **controls: Any) -> SeedSet:
        self.check_controls(controls)
        vectors = as_matrix(self._top_vectors(as_vector(query, name="query"), n), name="feedback vectors")
        return SeedSet(vectors[:n])


__all__ = ["FeedbackSampler", "NearestPairsSampler"]
