"""The adapter contract: run a generative search against one storage backend.

An adapter translates an adapter-neutral :class:`~genseek.contract.SeedSearch` (seeds, the
already tenant-scoped filter, limits, an optional in-engine fusion record) into the backend's
requests — one round trip per plan — and returns Qdrant ``ScoredPoint`` lists.

Adapters never decide *what* to search: tenant scoping, validation, defaults and fusion choices
happen before :meth:`Adapter.run` is called, in one place (:mod:`genseek.planner`), so every
backend enforces them identically. The plan types live in :mod:`genseek.contract` and are
re-exported here for adapter authors.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
from qdrant_client.http import models

from ..contract import (
    DISTANCE_NAMES,
    DISTANCES,
    FEATURE_VERSIONS,
    Capabilities,
    SeedSearch,
    SeedSearchResponse,
    VectorSpace,
    parse_version,
)

class Adapter(abc.ABC):
    """Base class of storage adapters (synchronous).

    Implementations: :meth:`accepts` (does this adapter drive that client object?),
    :meth:`capabilities`, :meth:`vector_space`, :meth:`run` and :meth:`fetch_vectors`.
    """

    id: ClassVar[str]
    description: ClassVar[str] = ""
    is_async: ClassVar[bool] = False

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    @abc.abstractmethod
    def accepts(cls, client: Any) -> bool:
        """True when this adapter can drive ``client``."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """The backend's capabilities (cached by implementations)."""

    @abc.abstractmethod
    def vector_space(self, collection: str, vector_name: str | None) -> VectorSpace:
        """Describe ``vector_name`` of ``collection``; raise :class:`~genseek.errors.CollectionError`
        naming what exists when either is missing."""

    @abc.abstractmethod
    def run(self, search: SeedSearch) -> SeedSearchResponse:
        """Execute ``search`` in one round trip."""

    @abc.abstractmethod
    def fetch_vectors(
        self, collection: str, vector_name: str | None, ids: list[Any], filter: models.Filter | None
    ) -> dict[Any, np.ndarray]:
        """Return the stored vectors of the points in ``ids`` that also match ``filter``."""


class AsyncAdapter(abc.ABC):
    """Asynchronous twin of :class:`Adapter`: same contract, coroutine methods."""

    id: ClassVar[str]
    description: ClassVar[str] = ""
    is_async: ClassVar[bool] = True

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    @abc.abstractmethod
    def accepts(cls, client: Any) -> bool: ...

    @abc.abstractmethod
    async def capabilities(self) -> Capabilities: ...

    @abc.abstractmethod
    async def vector_space(self, collection: str, vector_name: str | None) -> VectorSpace: ...

    @abc.abstractmethod
    async def run(self, search: SeedSearch) -> SeedSearchResponse: ...

    @abc.abstractmethod
    async def fetch_vectors(
        self, collection: str, vector_name: str | None, ids: list[Any], filter: models.Filter | None
    ) -> dict[Any, np.ndarray]: ...


__all__ = [
    "Adapter",
    "AsyncAdapter",
    "Capabilities",
    "DISTANCES",
    "DISTANCE_NAMES",
    "FEATURE_VERSIONS",
    "SeedSearch",
    "SeedSearchResponse",
    "VectorSpace",
    "parse_version",
]
