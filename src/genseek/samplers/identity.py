"""The ``identity`` sampler: the query embedding itself is the only seed.

This is the deterministic joint-embedding baseline (a plain vector search) that every
generative sampler is compared against. It returns one seed whatever ``n`` is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidRequestError
from ..vectors import as_vector
from .base import Sampler, SamplerInfo, SeedSet


class IdentitySampler(Sampler):
    id = "identity"
    description = "the query embedding itself as a single seed (plain vector search baseline)"

    @property
    def info(self) -> SamplerInfo:
        return SamplerInfo(id=self.id, deterministic=True, max_seeds=None, description=self.description)

    def sample(self, query: np.ndarray, n: int, *, generator: np.random.Generator, **controls: Any) -> SeedSet:
        if np.ndim(query) != 1:
            raise InvalidRequestError(
                f"sampler 'identity' needs a pooled query vector, got shape {np.shape(query)}"
            )
        return SeedSet(vectors=as_vector(query, name="query vector")[None, :], labels=("query",))
