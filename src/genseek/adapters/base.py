"""The adapter contract: run a generative search against one storage backend.

An adapter turns an adapter-neutral :class:`SeedSearch` (seeds, the already tenant-scoped
filter, limits, an optional :class:`~genseek.fusers.base.EngineFusion`) into the backend's
requests — one round trip per search — and returns Qdrant ``ScoredPoint`` lists.

Adapters never decide *what* to search: tenant scoping, validation and fusion choices happen
before :meth:`Adapter.run` is called, in one place (:mod:`genseek.search`), so every backend
enforces them identically.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from qdrant_client.http import models

from ..fusers.base import EngineFusion

#: (major, minor) of the Qdrant release where each server feature appeared.
FEATURE_VERSIONS: dict[str, tuple[int, int]] = {
    "prefetch": (1, 10),
    "dbsf": (1, 11),
    "formula": (1, 14),
    "mmr": (1, 15),
    "rrf_k": (1, 16),
    "weighted_rrf": (1, 17),
    "create_vector_name": (1, 18),
}


@dataclass(frozen=True)
class Capabilities:
    """What the backend can do in one request, derived from its version.

    ``version`` is ``None`` when unknown (treated as having nothing beyond plain search).
    ``shard_keys`` says whether a request may name a shard key (``shard_key_selector``): ``False``
    for qdrant-client local mode, which has no shards and would silently ignore one, so genseek
    refuses it there before anything is sent (Qdrant Edge accepts and ignores it: one shard).
    ``approximate`` says whether nearest-neighbour search goes through an approximate index
    (HNSW): ``False`` for local mode, which always scans exactly, so genseek does not pool
    candidates there (:mod:`genseek.pooling`).
    """

    version: tuple[int, int, int] | None
    prefetch: bool = False
    dbsf: bool = False
    formula: bool = False
    mmr: bool = False
    rrf_k: bool = False
    weighted_rrf: bool = False
    create_vector_name: bool = False
    shard_keys: bool = True
    approximate: bool = True

    @classmethod
    def from_version(cls, version: str | tuple[int, int, int] | None) -> Capabilities:
        """Capabilities of a Qdrant server (or local mode / Edge) reporting ``version``."""
        parsed = parse_version(version) if isinstance(version, str) else version
        if parsed is None:
            return cls(version=None)
        flags = {name: parsed[:2] >= since for name, since in FEATURE_VERSIONS.items()}
        return cls(version=parsed, **flags)

    @classmethod
    def everything(cls) -> Capabilities:
        """All features (used by engines that embed a current Qdrant)."""
        return cls(version=None, **{name: True for name in FEATURE_VERSIONS})


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """Parse ``"1.17.2"`` / ``"v1.17.0-dev"`` into ``(1, 17, 2)``; ``None`` if unparseable."""
    if not text:
        return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


#: The one table of distances: genseek's names (``VectorSpace.distance``, encoder ``distance``,
#: migration plans) → qdrant-client's ``models.Distance``, whose values ("Cosine", …) are also
#: Qdrant Edge's ``Distance`` member names.
DISTANCES: dict[str, models.Distance] = {
    "cosine": models.Distance.COSINE,
    "dot": models.Distance.DOT,
    "euclid": models.Distance.EUCLID,
    "manhattan": models.Distance.MANHATTAN,
}
#: ``models.Distance`` → genseek's name (the inverse of :data:`DISTANCES`).
DISTANCE_NAMES: dict[models.Distance, str] = {distance: name for name, distance in DISTANCES.items()}


@dataclass(frozen=True)
class VectorSpace:
    """One (named) vector of a collection: its name (``None`` = the unnamed default), size, distance.

    ``vectors`` lists every vector of the collection (dense and sparse; ``""`` is the unnamed
    one): the names a request's ``with_vectors=[...]`` may select. ``None`` when the adapter does
    not report them (names are then not checked). It takes no part in comparisons.
    """

    name: str | None
    dim: int
    distance: str  # "cosine" | "dot" | "euclid" | "manhattan"
    vectors: tuple[str, ...] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SeedSearch:
    """One generative search, ready to run.

    ``filter`` already contains the tenant condition; adapters must apply it to every per-seed
    request, to every prefetch and at the top level. ``engine`` is the in-engine fusion to run
    (``None``: client-side fusion). ``per_seed`` asks for each seed's ranked list too
    (provenance and client-side fusion); such lists carry ``with_payload``/``with_vectors`` only
    when ``per_seed_payload`` is set, and the seed vector's own values when ``per_seed_vectors``.
    ``seed_candidates`` (when set) gives each seed row its own list depth instead of ``candidates``
    (:meth:`depth`): adapters use it for per-seed requests and prefetches alike.
    """

    collection: str
    vector_name: str | None
    seeds: np.ndarray
    filter: models.Filter | None
    limit: int
    offset: int
    candidates: int
    engine: EngineFusion | None
    per_seed: bool
    score_threshold: float | None = None
    with_payload: Any = True
    with_vectors: Any = False
    per_seed_payload: bool = False
    per_seed_vectors: bool = False
    shard_key_selector: Any = None
    consistency: Any = None
    timeout: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed_candidates: tuple[int, ...] | None = None

    def depth(self, row: int) -> int:
        """The list depth of seed row ``row``."""
        return self.candidates if self.seed_candidates is None else self.seed_candidates[row]


@dataclass
class SeedSearchResponse:
    """What :meth:`Adapter.run` returns: the engine-fused list and/or the per-seed lists."""

    fused: list[models.ScoredPoint] | None = None
    per_seed: list[list[models.ScoredPoint]] | None = None


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
